/**
 * Focused ingest benchmark (the `ingest` figure of `bench/end-to-end.ts`,
 * alone and with more knobs): starts `gantry serve`, streams `--mib` MiB of
 * 32-channel, 512-sample acquisitions to it with the C sender
 * (`bench/c/send.c`) through a pass-through config, and prints GB/s per round.
 *
 *   node dist/bench/ingest.js [--mib 1024] [--rounds 3] [--cpu-prof DIR] [--port PORT]
 *
 * `--cpu-prof DIR` runs the server under `node --cpu-prof --cpu-prof-dir DIR`;
 * `--port` uses a server that is already running instead of starting one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptyAcquisitionHeader, type Acquisition } from '../src/ismrmrd/types.js';
import { GENERATOR_HEADER } from '../src/ismrmrd/xml-header.fixtures.js';
import { concatChunks, encodeAcquisition, encodeClose, encodeConfigScript, encodeHeader } from '../src/protocol/index.js';
import { freePort, waitForPort } from './ports.js';
import { gantryArgv, gantryEnv } from './gantry-command.js';

/** A config whose stream is empty: acquisitions are decoded, queued through the engine and dropped. */
export const PASS_THROUGH_CONFIG = `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <version>2</version>
  <readers>
    <reader><dll>gadgetron_mricore</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname><slot>1008</slot></reader>
  </readers>
  <writers>
    <writer><dll>gadgetron_mricore</dll><classname>MRIImageWriter</classname></writer>
  </writers>
  <stream key="ingest"/>
</configuration>
`;

interface Args {
  mib: number;
  rounds: number;
  cpuProf?: string;
  port?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { mib: 1024, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`Cannot run the ingest benchmark: ${a} needs a value`);
      return v;
    };
    if (a === '--mib') args.mib = Number(value());
    else if (a === '--rounds') args.rounds = Number(value());
    else if (a === '--cpu-prof') args.cpuProf = value();
    else if (a === '--port') args.port = Number(value());
    else throw new Error(`Cannot run the ingest benchmark: unknown option ${a}`);
  }
  if (!(args.mib > 0) || !(args.rounds >= 1)) throw new Error('Cannot run the ingest benchmark: --mib and --rounds must be positive');
  return args;
}

/** Writes the sender's input files; returns their paths and the frame count for `mib` MiB. */
export function ingestFiles(dir: string, mib: number): { prefix: string; frame: string; suffix: string; count: number } {
  const head = emptyAcquisitionHeader();
  head.number_of_samples = 512;
  head.active_channels = 32;
  head.available_channels = 32;
  const acq: Acquisition = { kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(2 * 512 * 32).fill(0.5) };
  const frame = concatChunks(encodeAcquisition(acq));
  const files = { prefix: join(dir, 'ingest-prefix.bin'), frame: join(dir, 'ingest-frame.bin'), suffix: join(dir, 'ingest-suffix.bin') };
  writeFileSync(files.prefix, concatChunks([...encodeConfigScript(PASS_THROUGH_CONFIG), ...encodeHeader(GENERATOR_HEADER)]));
  writeFileSync(files.frame, frame);
  writeFileSync(files.suffix, concatChunks(encodeClose()));
  return { ...files, count: Math.ceil((mib * 2 ** 20) / frame.byteLength) };
}

/** CPU seconds (user, system) and minor page faults of process `pid` so far, from /proc; undefined where /proc is missing. */
function cpuSeconds(pid: number | undefined): { user: number; system: number; faults: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100, faults: Number(fields[7]) };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const tmp = mkdtempSync(join(tmpdir(), 'gantry-ingest-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const sender = join(tmp, 'send');
    const built = spawnSync('gcc', ['-O2', '-o', sender, join(root, 'bench/c/send.c')], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`Cannot build the ingest sender: ${(built.stderr || built.error?.message || '').trim()}`);
    const files = ingestFiles(tmp, args.mib);
    let port = args.port;
    if (port === undefined) {
      port = await freePort();
      const prof = args.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', args.cpuProf] : [];
      child = spawn(process.execPath, [...prof, ...gantryArgv(root), 'serve', '--port', String(port), '--no-http', '--log-level', 'error'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: gantryEnv(root),
      });
      await waitForPort(port, 20_000);
    }
    for (let round = 0; round < args.rounds; round++) {
      const cpuBefore = cpuSeconds(child?.pid);
      const r = spawnSync(sender, [String(port), files.prefix, files.frame, String(files.count), files.suffix], { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`Cannot measure ingest: ${(r.stderr || r.error?.message || '').trim()}`);
      const result = JSON.parse(r.stdout.trim()) as { bytes: number; seconds: number };
      const cpuAfter = cpuSeconds(child?.pid);
      const gib = result.bytes / 2 ** 30;
      const cpu =
        cpuBefore === undefined || cpuAfter === undefined
          ? ''
          : `; server CPU per GiB: user ${((cpuAfter.user - cpuBefore.user) / gib).toFixed(2)} s, system ${((cpuAfter.system - cpuBefore.system) / gib).toFixed(2)} s, ${((cpuAfter.faults - cpuBefore.faults) / gib).toFixed(0)} page faults`;
      process.stdout.write(`round ${round + 1}: ${(result.bytes / result.seconds / 1e9).toFixed(3)} GB/s (${(result.bytes / 2 ** 20).toFixed(0)} MiB in ${result.seconds.toFixed(3)} s${cpu})\n`);
    }
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(timer);
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`ingest: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
