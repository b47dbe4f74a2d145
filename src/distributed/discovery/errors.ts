/** Errors raised by worker discovery sources. */

/** Stable codes of {@link DiscoveryError}. */
export type DiscoveryErrorCode =
  | 'EMPTY_COMMAND'
  | 'COMMAND_FAILED'
  | 'COMMAND_TIMEOUT'
  | 'OUTPUT_TOO_LARGE'
  | 'PARSE_FAILED'
  | 'RELAY_FAILED'
  | 'DNS_FAILED';

/** A discovery source could not produce a worker list. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';

  constructor(readonly code: DiscoveryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
