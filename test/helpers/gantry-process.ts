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
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts a server (with extra environment variables in `env`); resolves once it listens. */
export async function startGantryServer(extraArgs: string[] = [], timeoutMs = 15_000, env?: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, [GANTRY_BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', '--http-port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  let err = '';
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gantry serve did not start within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"gantry listening"[^\n]*"port":(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gantry serve exited with ${code}:\n${err}`));
    });
  });
  const http = /"msg":"gantry http listening"[^\n]*"port":(\d+)/.exec(err);
  return {
    port,
    ...(http ? { httpPort: Number(http[1]) } : {}),
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      if (out.length > 0) throw new Error(`gantry serve wrote to stdout (it must keep stdout clean):\n${out}`);
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
