/**
 * Crash isolation at process level. Each session runs inside its own async
 * scope (AsyncLocalStorage), which timers, immediates, ticks and promises it
 * starts inherit. An uncaught exception or unhandled rejection raised in such
 * a scope is attributed to that session: the session is stopped with an
 * error to its client and the server goes on. An error that belongs to no
 * session (server code, the HTTP side, a bare `queueMicrotask`) leaves the
 * process in an unknown state: it is logged and the process exits 1, so that
 * its supervisor restarts it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../util/logger.js';

/** What the guard needs to know of a running session. */
export interface SessionScope {
  /** The server's connection number (for logs). */
  readonly id: number;
  /** Stops the session with `error` (told to its client); a no-op once the session has ended. */
  fail(error: unknown): void;
}

const scopes = new AsyncLocalStorage<SessionScope>();

/** Runs `fn` (a session) inside `scope`; everything it starts, directly or not, is attributed to it. */
export function runInSessionScope<T>(scope: SessionScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** The session whose code is running now, if any. */
export function currentSessionScope(): SessionScope | undefined {
  return scopes.getStore();
}

/** How the guard ends the process on an error it cannot attribute (tests replace it). */
export type ExitFunction = (code: number) => void;

/**
 * Installs `uncaughtException` and `unhandledRejection` handlers that stop
 * only the session an error belongs to; returns a function that removes them.
 */
export function installCrashGuard(log: Logger, exit: ExitFunction = (code) => process.exit(code)): () => void {
  const handle = (kind: 'uncaught exception' | 'unhandled rejection') => (reason: unknown): void => {
    const scope = scopes.getStore();
    const error = reason instanceof Error ? reason.message : String(reason);
    const stack = reason instanceof Error ? reason.stack : undefined;
    if (scope) {
      log.error(`${kind} in a session: stopping that session, the server goes on`, { session: scope.id, error, ...(stack ? { stack } : {}) });
      scope.fail(reason);
      return;
    }
    log.error(`${kind} outside any session: exiting`, { error, ...(stack ? { stack } : {}) });
    exit(1);
  };
  const onException = handle('uncaught exception');
  const onRejection = handle('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
