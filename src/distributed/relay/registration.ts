/**
 * Keeps this server registered with a cloudbus relay, as the Python
 * relay's worker script does: `POST /cloudbus/add_worker {"port": "<port>"}`
 * now and every interval (the relay forgets workers it has not heard from
 * for 5 minutes), and `POST /cloudbus/remove_worker` on stop (a Gantry
 * relay removes the entry at once; the Python relay ignores it and lets the
 * entry expire).
 */
import { sendHttpRequest } from '../http-request.js';
import { normalizeRelayUrl, relayEndpoint } from '../discovery/relay-source.js';
import type { Logger } from '../../util/logger.js';

/** Options of {@link startRelayRegistration}. */
export interface RelayRegistrationOptions {
  /** Relay URL or host[:port] (port 5000 when omitted). */
  relayUrl: string | URL;
  /** This server's Gadgetron-protocol port, as workers should be reached on. */
  port: number;
  /** Re-registration period in ms (default 10 000, the Python worker script's poll time). */
  intervalMs?: number;
  /** Deadline of one request in ms (default 5000). */
  timeoutMs?: number;
  log: Logger;
}

/** A running registration. */
export interface RelayRegistration {
  /** Settles after the first attempt: true when the relay accepted it. */
  readonly firstAttempt: Promise<boolean>;
  /** Whether the latest attempt succeeded. */
  readonly registered: boolean;
  /** Stops re-registering and deregisters (bounded by the request deadline; never rejects). */
  stop(): Promise<void>;
}

/** Starts registering `port` with the relay; see the module comment. */
export function startRelayRegistration(options: RelayRegistrationOptions): RelayRegistration {
  const base = typeof options.relayUrl === 'string' ? normalizeRelayUrl(options.relayUrl) : options.relayUrl;
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new RangeError(`Cannot register with relay ${base.origin}: port ${options.port} is not an integer from 1 to 65535`);
  }
  const intervalMs = options.intervalMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const { log } = options;
  const body = { port: String(options.port) };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let registered = false;
  let lastProblem = '';
  let inFlight: Promise<boolean> | undefined;

  const attempt = async (): Promise<boolean> => {
    let problem = '';
    try {
      const answer = await sendHttpRequest({ url: relayEndpoint(base, 'add_worker'), method: 'POST', json: body, timeoutMs, signal: controller.signal });
      if (answer.status !== 200) problem = `HTTP ${answer.status}: ${answer.body.slice(0, 200).trim()}`;
    } catch (err) {
      if (stopped) return false;
      problem = err instanceof Error ? err.message : String(err);
    }
    if (problem) {
      if (problem !== lastProblem) log.warn('cannot register with relay; retrying', { relay: base.origin, port: options.port, error: problem });
      lastProblem = problem;
      registered = false;
      return false;
    }
    if (!registered) log.info('registered with relay', { relay: base.origin, port: options.port });
    registered = true;
    lastProblem = '';
    return true;
  };

  const loop = (): Promise<boolean> => {
    inFlight = attempt().finally(() => {
      inFlight = undefined;
      if (!stopped) {
        timer = setTimeout(() => void loop(), intervalMs);
        timer.unref();
      }
    });
    return inFlight;
  };

  const firstAttempt = loop();

  return {
    firstAttempt,
    get registered() {
      return registered;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      controller.abort(new Error('registration stopped'));
      await inFlight?.catch(() => false);
      if (!registered) return;
      registered = false;
      try {
        const answer = await sendHttpRequest({ url: relayEndpoint(base, 'remove_worker'), method: 'POST', json: body, timeoutMs: Math.min(timeoutMs, 2_000) });
        if (answer.status === 200) log.info('deregistered from relay', { relay: base.origin, port: options.port });
        else log.debug('relay did not deregister (it will expire the entry)', { relay: base.origin, status: answer.status });
      } catch (err) {
        log.debug('cannot deregister from relay (it will expire the entry)', { relay: base.origin, error: err instanceof Error ? err.message : String(err) });
      }
    },
  };
}
