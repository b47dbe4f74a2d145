/**
 * The error raised for bytes that do not form a valid Gadgetron message.
 */

/** Stable machine-readable reasons for a {@link ProtocolError}. */
export type ProtocolErrorCode =
  | 'UNKNOWN_MESSAGE_ID'
  | 'MESSAGE_TOO_LARGE'
  | 'MALFORMED_MESSAGE'
  | 'UNSUPPORTED'
  | 'TRUNCATED_MESSAGE';

/** A wire-protocol failure: the stream cannot be decoded past this point. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** Why decoding failed. */
  readonly code: ProtocolErrorCode;
  /** The id of the message being decoded, when it was read. */
  readonly messageId: number | undefined;

  constructor(code: ProtocolErrorCode, message: string, options: { messageId?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.messageId = options.messageId;
  }
}
