/**
 * End-to-end benchmarks on files from `ismrmrd_generate_cartesian_shepp_logan`:
 * `ismrmrd_recon_cartesian_2d` against `gantry recon` (offline, file to file)
 * and `gantry client` → `gantry serve` (TCP), process start included; and
 * the server's ingest rate through a pass-through chain on loopback.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyAcquisitionHeader, type Acquisition } from '../src/ismrmrd/types.js';
import { GENERATOR_HEADER } from '../src/ismrmrd/xml-header.fixtures.js';
import { encodeAcquisition, encodeClose, encodeConfigScript, encodeHeader, concatChunks } from '../src/protocol/index.js';
import type { Figure } from './figures.js';
import { gantryArgv, gantryEnv } from './gantry-command.js';
import { haveCommand, timeCommand } from './timing.js';
import { freePort, waitForPort } from './ports.js';
import { PASS_THROUGH_CONFIG } from './ingest.js';

/** Settings shared by the end-to-end benchmarks. */
export interface EndToEndOptions {
  root: string;
  tmp: string;
  quick: boolean;
  hyperfine: boolean;
  log: (line: string) => void;
}

/** Starts `gantry serve` on a free port; returns it and a stop function. */
async function startServer(o: EndToEndOptions): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...gantryArgv(o.root), 'serve', '--port', String(port), '--no-http', '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: gantryEnv(o.root),
  });
  try {
    await waitForPort(port, 20_000, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

function generate(args: string[], out: string): void {
  const r = spawnSync('ismrmrd_generate_cartesian_shepp_logan', [...args, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`Cannot generate ${out}: ${r.stderr?.toString().trim()}`);
}

interface E2eCase {
  id: string;
  label: string;
  args: string[];
  reconTarget: number;
  clientTarget?: number;
  quick: boolean;
}

const E2E_CASES: E2eCase[] = [
  { id: 'e2e-256-8coil', label: '256², 8 coils', args: [], reconTarget: 1.3, quick: true },
  { id: 'e2e-256-32coil-16rep', label: '256², 32 coils, 16 repetitions', args: ['-r', '16', '-c', '32'], reconTarget: 1.0, clientTarget: 1.3, quick: false },
];

/**
 * The environment of the timed Gantry processes: this one without
 * NODE_EXTRA_CA_CERTS. The VM the figures are recorded on sets it to the
 * system bundle, and Node then parses some 140 certificates before running
 * any JavaScript (about 65 ms of CPU per process); the C++ reference pays
 * nothing alike, and a reconstruction server needs no extra CAs for its own
 * TLS (`--tls-*` files). The recon figure also lists the time with it.
 */
const EXTRA_CA_CERTS = process.env['NODE_EXTRA_CA_CERTS'];
const GANTRY_ENV: NodeJS.ProcessEnv = (() => {
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  return env;
})();

/** End-to-end figures; skipped (with a line in the log) when the ISMRMRD tools or the HDF5 addon are missing. */
export async function benchEndToEnd(o: EndToEndOptions): Promise<Figure[]> {
  if (!haveCommand('ismrmrd_generate_cartesian_shepp_logan') || !haveCommand('ismrmrd_recon_cartesian_2d')) {
    o.log('  skipped: ismrmrd-tools is not installed');
    return [];
  }
  const { hdf5Available, hdf5UnavailableReason } = await import('../src/formats/ismrmrd-hdf5.js');
  if (!hdf5Available()) {
    o.log(`  skipped: ${hdf5UnavailableReason()}`);
    return [];
  }
  const figures: Figure[] = [];
  const gantry = gantryArgv(o.root);
  if (EXTRA_CA_CERTS) o.log(`  NODE_EXTRA_CA_CERTS=${EXTRA_CA_CERTS} is removed from the timed Gantry processes' environment (see docs/performance.md); the recon figure also lists the time with it`);
  const server = await startServer(o);
  try {
    for (const c of E2E_CASES) {
      if (o.quick && !c.quick) continue;
      const file = join(o.tmp, `${c.id}.h5`);
      generate(c.args, file);
      const scratch = join(o.tmp, `${c.id}-ref.h5`);
      const out = join(o.tmp, `${c.id}-out.h5`);
      const runs = o.quick ? 3 : c.args.length > 0 ? 3 : 5;
      const reference = timeCommand(
        { argv: ['ismrmrd_recon_cartesian_2d', scratch], prepare: ['cp', file, scratch] },
        runs, o.tmp, o.hyperfine, 'ismrmrd_recon_cartesian_2d',
      );
      const recon = timeCommand(
        { argv: [process.execPath, ...gantry, 'recon', '-f', file, '-o', out], prepare: ['rm', '-f', out], env: gantryEnv(o.root, GANTRY_ENV) },
        runs, o.tmp, o.hyperfine, 'gantry recon',
      );
      const client = timeCommand(
        { argv: [process.execPath, ...gantry, 'client', '-p', String(server.port), '-f', file, '-o', out], prepare: ['rm', '-f', out], env: gantryEnv(o.root, GANTRY_ENV) },
        runs, o.tmp, o.hyperfine, 'gantry client',
      );
      // The same command with the environment's NODE_EXTRA_CA_CERTS, as a figure beside the ratio.
      const withCaCerts = EXTRA_CA_CERTS ? timeCommand(
        { argv: [process.execPath, ...gantry, 'recon', '-f', file, '-o', out], prepare: ['rm', '-f', out], env: gantryEnv(o.root) },
        runs, o.tmp, o.hyperfine, 'gantry recon (NODE_EXTRA_CA_CERTS kept)',
      ) : undefined;
      const ref = reference.best / 1e6;
      figures.push({
        id: `${c.id}-recon`, group: 'e2e', label: `gantry recon, ${c.label}`, unit: 's',
        gantry: recon.best / 1e6, reference: ref, referenceName: 'ismrmrd_recon_cartesian_2d',
        ratio: recon.best / reference.best, target: { max: c.reconTarget },
        ...(withCaCerts ? { extra: { 's with NODE_EXTRA_CA_CERTS': Number((withCaCerts.best / 1e6).toFixed(3)) } } : {}),
      });
      figures.push({
        id: `${c.id}-client`, group: 'e2e', label: `gantry client → serve, ${c.label}`, unit: 's',
        gantry: client.best / 1e6, reference: ref, referenceName: 'ismrmrd_recon_cartesian_2d',
        ratio: client.best / reference.best, ...(c.clientTarget ? { target: { max: c.clientTarget } } : {}),
      });
      o.log(`  ${c.label}: reference ${ref.toFixed(2)} s, gantry recon ${(recon.best / 1e6).toFixed(2)} s, client → serve ${(client.best / 1e6).toFixed(2)} s`);
    }
    figures.push(await benchIngest(server.port, o));
  } finally {
    await server.stop();
  }
  return figures;
}

/**
 * Ingest: `bytes` of 32-channel, 512-sample acquisitions sent by the C sender
 * (bench/c/send.c, so the sender is not what is measured) through a
 * pass-through chain; GB/s from the first byte to the server's end of stream.
 */
async function benchIngest(port: number, o: EndToEndOptions): Promise<Figure> {
  const sender = join(o.tmp, 'send');
  const built = spawnSync('gcc', ['-O2', '-o', sender, join(o.root, 'bench/c/send.c')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`Cannot build the ingest sender: ${(built.stderr || built.error?.message || '').trim()}`);
  const head = emptyAcquisitionHeader();
  head.number_of_samples = 512;
  head.active_channels = 32;
  head.available_channels = 32;
  const acq: Acquisition = { kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(2 * 512 * 32).fill(0.5) };
  const frame = concatChunks(encodeAcquisition(acq));
  const files = { prefix: join(o.tmp, 'ingest-prefix.bin'), frame: join(o.tmp, 'ingest-frame.bin'), suffix: join(o.tmp, 'ingest-suffix.bin') };
  writeFileSync(files.prefix, concatChunks([...encodeConfigScript(PASS_THROUGH_CONFIG), ...encodeHeader(GENERATOR_HEADER)]));
  writeFileSync(files.frame, frame);
  writeFileSync(files.suffix, concatChunks(encodeClose()));
  const count = Math.ceil(((o.quick ? 256 : 2048) * 2 ** 20) / frame.byteLength);
  let best = 0;
  let bytes = 0;
  for (let round = 0; round < (o.quick ? 1 : 3); round++) {
    const r = spawnSync(sender, [String(port), files.prefix, files.frame, String(count), files.suffix], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`Cannot measure ingest: ${(r.stderr || r.error?.message || '').trim()}`);
    const result = JSON.parse(r.stdout.trim()) as { bytes: number; seconds: number };
    bytes = result.bytes;
    best = Math.max(best, result.bytes / result.seconds / 1e9);
  }
  o.log(`  ingest: ${best.toFixed(2)} GB/s (${(bytes / 2 ** 20).toFixed(0)} MiB of 32-channel × 512-sample acquisitions)`);
  return { id: 'ingest-pass-through', group: 'ingest', label: 'ingest, pass-through chain, loopback', unit: 'GB/s', gantry: best, target: { min: 1 } };
}
