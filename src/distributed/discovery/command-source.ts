/**
 * GADGETRON_REMOTE_WORKER_COMMAND, run the way Gadgetron runs it
 * (Discovery.cpp: `boost::process::system(cmd, std_out > output,
 * std_err > null)`): the command line is split Boost.Process "cmd-style",
 * the executable is found on PATH, there is no shell, stderr is discarded
 * and the exit status is ignored; the output must be a worker list in
 * Gadgetron's grammar (worker-list.ts). Gantry adds a deadline and a cap on
 * the output, and kills the command's process group when either is
 * exceeded.
 */
import { spawn } from 'node:child_process';
import type { DiscoverySource } from '../worker-pool.js';
import { DiscoveryError } from './errors.js';
import { parseWorkerList, type WorkerAddress } from './worker-list.js';

/** Options of {@link commandSource}. */
export interface CommandSourceOptions {
  /** Deadline for the command in ms (default 10 000). */
  timeoutMs?: number;
  /** Largest output accepted in bytes (default 1 MiB). */
  maxOutputBytes?: number;
  /** Environment of the command (default: this process's). PATH in it is searched for the executable. */
  env?: NodeJS.ProcessEnv;
  /** Source name reported in worker states and warnings (default "command"). */
  name?: string;
}

/**
 * Splits a command line the way Boost.Process splits a "cmd-style" string:
 * tokens are separated by spaces (only the space character) outside double
 * quotes; a token that both starts and ends with `"` loses those quotes;
 * `\"` inside a token becomes `"`. Nothing else is interpreted: no `~`,
 * `$VAR`, globs, pipes or redirections.
 */
export function splitCommandLine(command: string): string[] {
  const tokens: string[] = [];
  let inQuote = false;
  let start = 0;
  const push = (end: number): void => {
    if (end <= start) return;
    let token = command.slice(start, end);
    if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) token = token.slice(1, -1);
    tokens.push(token.replaceAll('\\"', '"'));
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === '"') inQuote = !inQuote;
    else if (c === ' ' && !inQuote) {
      push(i);
      start = i + 1;
    }
  }
  push(command.length);
  return tokens;
}

/** The outcome of one run of a discovery command. */
export interface CommandRun {
  output: string;
  /** Exit code, or null when the command ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs a command line (split by {@link splitCommandLine}, no shell) and
 * collects its standard output. Rejects with a DiscoveryError when it cannot
 * start, runs past the deadline, or writes more than the cap.
 */
export function runDiscoveryCommand(command: string, signal: AbortSignal, options: CommandSourceOptions = {}): Promise<CommandRun> {
  const argv = splitCommandLine(command);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxOutputBytes ?? 1 << 20;
  const exe = argv[0];
  if (exe === undefined) {
    return Promise.reject(new DiscoveryError('EMPTY_COMMAND', 'Failed executing remote worker command: the command is empty'));
  }
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<CommandRun>((resolve, reject) => {
    const child = spawn(exe, argv.slice(1), {
      shell: false,
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: process.platform !== 'win32',
      env: options.env ?? process.env,
      windowsHide: true,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const kill = (): void => {
      if (child.pid === undefined) return;
      try {
        if (process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    };
    const settle = (err: Error | undefined, run?: CommandRun): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        kill();
        child.stdout?.destroy();
        reject(err);
      } else if (run) {
        resolve(run);
      }
    };
    const onAbort = (): void => settle(abortError(signal));
    const timer = setTimeout(() => settle(new DiscoveryError(
      'COMMAND_TIMEOUT', `Failed executing remote worker command: no result within ${timeoutMs} ms; the command was killed`,
    )), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `executable ${JSON.stringify(exe)} not found` : err.code === 'EACCES' ? `executable ${JSON.stringify(exe)} is not executable` : err.message;
      settle(new DiscoveryError('COMMAND_FAILED', `Failed executing remote worker command: ${why}`, { cause: err }));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        settle(new DiscoveryError('OUTPUT_TOO_LARGE', `Failed executing remote worker command: output exceeds ${maxBytes} bytes; the command was killed`));
        return;
      }
      chunks.push(chunk);
    });
    child.on('close', (exitCode, exitSignal) => {
      settle(undefined, { output: Buffer.concat(chunks).toString('utf8'), exitCode, signal: exitSignal });
    });
  });
}

/** Parses a command's output with Gadgetron's grammar; throws DiscoveryError('PARSE_FAILED') otherwise. */
export function workersFromCommandOutput(run: CommandRun): WorkerAddress[] {
  const parsed = parseWorkerList(run.output);
  if (parsed.ok) return parsed.workers;
  const shown = run.output.length > 200 ? `${run.output.slice(0, 200)}…` : run.output;
  const status = run.exitCode === 0 ? '' : run.exitCode === null ? `; the command ended by ${run.signal ?? 'a signal'}` : `; the command exited with status ${run.exitCode}`;
  throw new DiscoveryError('PARSE_FAILED', `Failed to parse worker list from discovery command: ${JSON.stringify(shown)} (${parsed.reason}${status})`);
}

/** A discovery source running `command` (GADGETRON_REMOTE_WORKER_COMMAND semantics, see the module comment). */
export function commandSource(command: string, options: CommandSourceOptions = {}): DiscoverySource {
  return {
    name: options.name ?? 'command',
    async discover(signal: AbortSignal): Promise<WorkerAddress[]> {
      return workersFromCommandOutput(await runDiscoveryCommand(command, signal, options));
    },
  };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('discovery aborted');
}
