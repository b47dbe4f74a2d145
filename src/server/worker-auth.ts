/**
 * Gateway→worker authentication with a shared secret (`--worker-secret-file`).
 *
 * A gateway opens each worker link with one Gantry-specific message before
 * the Gadgetron CONFIG: the proof
 *
 *   uint16 id 0x7747 | uint8 version 1 | uint64 time (ms since 1970) |
 *   16 random bytes | HMAC-SHA256(secret, "gantry-worker-link-v1" | time | random)
 *
 * (59 bytes, little endian). A worker holding the secret checks the HMAC in
 * constant time against each of its secrets (several allow rotation), that
 * the time is within ±5 minutes of its clock, and that the random part was
 * not seen before in that window (no replay); only then does the Gadgetron
 * session start. Anything else gets a clear error text and CLOSE, which a
 * plain Gadgetron client prints. The secret itself never crosses the wire.
 * Servers without a secret never see this message: plain Gadgetron clients
 * are unaffected.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** Message id of the proof (outside Gadgetron's ids). */
export const WORKER_PROOF_ID = 0x7747;
const VERSION = 1;
const CONTEXT = Buffer.from('gantry-worker-link-v1', 'utf8');
/** Bytes of the proof message. */
export const WORKER_PROOF_BYTES = 2 + 1 + 8 + 16 + 32;
/** Largest difference between the gateway's and the worker's clocks accepted, ms. */
export const PROOF_WINDOW_MS = 5 * 60_000;
/** Minimum secret length, characters. */
export const MIN_WORKER_SECRET_LENGTH = 16;

function mac(secret: string, time: Buffer, nonce: Buffer): Buffer {
  return createHmac('sha256', secret).update(CONTEXT).update(time).update(nonce).digest();
}

/** The proof message a gateway sends first on a worker link. */
export function encodeWorkerProof(secret: string, now = Date.now(), nonce: Buffer = randomBytes(16)): Buffer {
  const out = Buffer.alloc(WORKER_PROOF_BYTES);
  out.writeUInt16LE(WORKER_PROOF_ID, 0);
  out.writeUInt8(VERSION, 2);
  out.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(now))), 3);
  nonce.copy(out, 11, 0, 16);
  mac(secret, out.subarray(3, 11), out.subarray(11, 27)).copy(out, 27);
  return out;
}

/** Why a connection was not let in. */
export type ProofFailure = 'no-proof' | 'wrong-secret' | 'stale' | 'replayed' | 'timeout' | 'closed';

/** Readable reasons, sent to the peer and logged. */
export const PROOF_FAILURE_TEXT: Record<ProofFailure, string> = {
  'no-proof': 'the connection did not start with a worker-link proof (this server takes sessions only from Gantry gateways holding its worker secret)',
  'wrong-secret': 'the worker-link proof does not match this server\'s worker secret',
  stale: `the worker-link proof is older or newer than ${PROOF_WINDOW_MS / 60_000} minutes (are the clocks of gateway and worker in sync?)`,
  replayed: 'the worker-link proof was already used',
  timeout: 'no worker-link proof arrived in time',
  closed: 'the connection closed before the worker-link proof',
};

/** Checks proofs against the worker's secrets and remembers recent ones. */
export class WorkerProofVerifier {
  private readonly secrets: readonly string[];
  private readonly seen = new Map<string, number>();

  constructor(secrets: readonly string[], private readonly windowMs = PROOF_WINDOW_MS) {
    if (secrets.length === 0) throw new Error('Cannot check worker links without a secret');
    this.secrets = [...secrets];
  }

  /** Checks a complete proof message; undefined when it is valid (and then remembered). */
  check(proof: Buffer, now = Date.now()): ProofFailure | undefined {
    if (proof.length !== WORKER_PROOF_BYTES || proof.readUInt16LE(0) !== WORKER_PROOF_ID || proof.readUInt8(2) !== VERSION) return 'no-proof';
    const time = proof.subarray(3, 11);
    const nonce = proof.subarray(11, 27);
    const given = proof.subarray(27);
    let match = false;
    for (const secret of this.secrets) {
      // every secret is tried, so the time does not tell which one matched
      if (timingSafeEqual(mac(secret, time, nonce), given)) match = true;
    }
    if (!match) return 'wrong-secret';
    const at = Number(time.readBigUInt64LE(0));
    if (Math.abs(now - at) > this.windowMs) return 'stale';
    for (const [key, expires] of this.seen) if (expires < now) this.seen.delete(key);
    const key = nonce.toString('hex');
    if (this.seen.has(key)) return 'replayed';
    this.seen.set(key, at + this.windowMs + 1);
    return undefined;
  }
}

/** What reading the proof gave: accepted, a probe's lone CLOSE, or a failure. */
export type ProofOutcome = { ok: true } | { ok: false; probe: boolean; failure: ProofFailure };

/**
 * Reads the proof at the start of `socket` and checks it. On success the
 * bytes after it are put back and the socket is left paused: the caller
 * attaches its reader and resumes. A lone CLOSE (a worker pool's probe) is
 * reported as `probe`.
 */
export function readWorkerProof(socket: Duplex, verifier: WorkerProofVerifier, timeoutMs = 10_000): Promise<ProofOutcome> {
  return new Promise<ProofOutcome>((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: ProofOutcome, rest?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.readUInt16LE(0) !== WORKER_PROOF_ID) {
        const probe = buffered.length === 2 && buffered.readUInt16LE(0) === 4;
        finish({ ok: false, probe, failure: 'no-proof' });
        return;
      }
      if (buffered.length < WORKER_PROOF_BYTES) return;
      const failure = verifier.check(buffered.subarray(0, WORKER_PROOF_BYTES));
      if (failure) finish({ ok: false, probe: false, failure });
      else finish({ ok: true }, buffered.subarray(WORKER_PROOF_BYTES));
    };
    const onEnd = (): void => {
      const probe = buffered.length === 2 && buffered.readUInt16LE(0) === 4;
      finish({ ok: false, probe, failure: probe ? 'no-proof' : 'closed' });
    };
    const timer = setTimeout(() => finish({ ok: false, probe: false, failure: 'timeout' }), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}
