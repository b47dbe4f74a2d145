/**
 * Size limits the frame decoder enforces before it allocates anything.
 */

/** Upper bounds, in bytes, on each variable part of a message. */
export interface ProtocolLimits {
  /** Configuration script text (id 2). */
  readonly maxConfigBytes: number;
  /** ISMRMRD XML header (id 3). */
  readonly maxHeaderBytes: number;
  /** Text, response and error bodies, DICOM file names (ids 5, 7, 8, 1018). */
  readonly maxTextBytes: number;
  /** Query keys (id 6). */
  readonly maxQueryBytes: number;
  /** Meta XML: image attributes, dependency-query replies, DICOM meta (ids 1022, 1019, 1018). */
  readonly maxMetaBytes: number;
  /** Acquisition trajectory plus data (samples × channels × 8 + trajectory). */
  readonly maxAcquisitionBytes: number;
  /** Image pixels and DICOM file bytes. */
  readonly maxImageBytes: number;
  /** Waveform samples. */
  readonly maxWaveformBytes: number;
  /**
   * Any one array of a recon buffer, image array or bucket (ids 1023, 1024,
   * 1050): complex data, trajectory, density, a header array, bucket statistics.
   */
  readonly maxArrayBytes: number;
  /** Any whole message, id and fixed headers included. */
  readonly maxMessageBytes: number;
}

const MiB = 1024 * 1024;

/** The limits used when none are given. */
export const defaultProtocolLimits: ProtocolLimits = Object.freeze({
  maxConfigBytes: 4 * MiB,
  maxHeaderBytes: 4 * MiB,
  maxTextBytes: 1 * MiB,
  maxQueryBytes: 64 * 1024,
  maxMetaBytes: 4 * MiB,
  maxAcquisitionBytes: 64 * MiB,
  maxImageBytes: 512 * MiB,
  maxWaveformBytes: 16 * MiB,
  maxArrayBytes: 512 * MiB,
  maxMessageBytes: 1024 * MiB,
});

/** `defaultProtocolLimits` overridden by `overrides`; every value must be a non-negative safe integer. */
export function mergeProtocolLimits(overrides: Partial<ProtocolLimits> = {}): ProtocolLimits {
  const merged: Record<string, number> = { ...defaultProtocolLimits };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in defaultProtocolLimits)) throw new RangeError(`Cannot set unknown protocol limit ${key}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot set protocol limit ${key} to ${String(value)}: expected a non-negative integer`);
    }
    merged[key] = value;
  }
  return Object.freeze(merged as unknown as ProtocolLimits);
}

/**
 * Per-session budgets and timeouts the server enforces on each connection
 * (the frame-size limits above are enforced by the decoder). Zero turns a
 * budget or timeout off.
 */
export interface SessionLimits {
  /** Bytes one session may send in all (config, header and data together). */
  readonly maxSessionBytes: number;
  /**
   * Bytes of memory one session may claim: the ISMRMRD header's largest
   * k-space (encoded matrix × encoding steps × receiver channels × 8 bytes)
   * must fit, so a header claiming an absurd matrix is refused before any
   * gadget allocates for it.
   */
  readonly sessionMemoryBudget: number;
  /** From accept until the config and the ISMRMRD header have both arrived (ms). */
  readonly connectTimeoutMs: number;
  /** The longest a whole session may run, from accept to its final CLOSE (ms). */
  readonly sessionTimeoutMs: number;
}

const GiB = 1024 * MiB;

/** The session limits used when none are given. */
export const defaultSessionLimits: SessionLimits = Object.freeze({
  maxSessionBytes: 64 * GiB,
  sessionMemoryBudget: 16 * GiB,
  connectTimeoutMs: 30_000,
  sessionTimeoutMs: 6 * 3_600_000,
});

/** `defaultSessionLimits` overridden by `overrides`; every value must be a non-negative safe integer. */
export function mergeSessionLimits(overrides: Partial<SessionLimits> = {}): SessionLimits {
  const merged: Record<string, number> = { ...defaultSessionLimits };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in defaultSessionLimits)) throw new RangeError(`Cannot set unknown session limit ${key}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot set session limit ${key} to ${String(value)}: expected a non-negative integer`);
    }
    merged[key] = value;
  }
  return Object.freeze(merged as unknown as SessionLimits);
}
