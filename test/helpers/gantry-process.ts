/**
 * Starts `bin/gantry serve` as a real child process on 127.0.0.1 with an
 * ephemeral port, and runs other `gantry` subcommands.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Absolute path of the repository root. */
export const REPO_ROOT = repoRoot();
/** Absolute path of the `gantry` executable. */
export const GANTRY_BIN = join(REPO_ROOT, 'bin', 'gantry');

/** A running server process. */
export interface ServerProcess {
  port: number;
  /** Port of the HTTP side (health, metrics, API, page), when it runs. */
  httpPort?: number;
  child: ChildProcess;
  /**
   * The server's JSON log records so far, one per line, from whichever stream
   * carries them (stdout by default, stderr with `--log-destination stderr`),
   * in arrival order; only complete lines.
   */
  logs: () => string;
  /** Everything the server wrote to stdout so far. */
  stdout: () => string;
  /** Everything the server wrote to stderr so far. */
  stderr: () => string;
  /** SIGTERM (SIGKILL after 10 s); throws if the server wrote anything but JSON records to its log stream. */
  stop(): Promise<void>;
}

/** Lines of `text` that are not JSON log records (`{"level":…,"time":…,"msg":…}`). */
export function nonRecordLines(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    try {
      const r = JSON.parse(line) as unknown;
      return !(typeof r === 'object' && r !== null && 'level' in r && 'time' in r && 'msg' in r);
    } catch {
      return true;
    }
  });
}

/** Starts a server (with extra environment variables in `env`); resolves once it listens. */
export async function startGantryServer(extraArgs: string[] = [], timeoutMs = 15_000, env?: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, [GANTRY_BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', '--http-port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const toStdout = !extraArgs.some((a, i) => a === '--log-destination=stderr' || (a === '--log-destination' && extraArgs[i + 1] === 'stderr'));
  const raw = { stdout: '', stderr: '' };
  const partial = { stdout: '', stderr: '' };
  let logs = '';
  const listeners = new Set<() => void>();
  const collect = (stream: 'stdout' | 'stderr') => (d: Buffer): void => {
    const text = d.toString();
    raw[stream] += text;
    const joined = partial[stream] + text;
    const end = joined.lastIndexOf('\n');
    if (end < 0) {
      partial[stream] = joined;
      return;
    }
    logs += joined.slice(0, end + 1);
    partial[stream] = joined.slice(end + 1);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', collect('stdout'));
  child.stderr?.on('data', collect('stderr'));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gantry serve did not start within ${timeoutMs} ms:\n${raw.stdout}${raw.stderr}`)), timeoutMs);
    const check = (): void => {
      const m = /"msg":"gantry listening"[^\n]*"port":(\d+)/.exec(logs);
      if (!m) return;
      clearTimeout(timer);
      listeners.delete(check);
      resolve(Number(m[1]));
    };
    listeners.add(check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gantry serve exited with ${code}:\n${raw.stdout}${raw.stderr}`));
    });
  });
  const http = /"msg":"gantry http listening"[^\n]*"port":(\d+)/.exec(logs);
  // An HTTP answer after the listening record means the event loop has turned since, so `serve` has
  // installed its SIGTERM handler (a SIGTERM before that would kill it without draining).
  if (http) await fetch(`http://127.0.0.1:${http[1]}/livez`).then((r) => r.arrayBuffer(), () => undefined);
  return {
    port,
    ...(http ? { httpPort: Number(http[1]) } : {}),
    child,
    logs: () => logs,
    stdout: () => raw.stdout,
    stderr: () => raw.stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      const stream = toStdout ? raw.stdout : raw.stderr;
      const stray = nonRecordLines(stream.slice(0, stream.lastIndexOf('\n') + 1));
      if (stray.length > 0) throw new Error(`gantry serve wrote lines that are not JSON log records to its log stream:\n${stray.join('\n')}`);
    },
  };
}

/** Result of running a `gantry` subcommand. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gantry <args>` to completion (bounded by `timeoutMs`). */
export function runGantry(args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GANTRY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gantry ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
