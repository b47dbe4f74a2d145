/**
 * The message kinds that cross to distributed workers, apart from the
 * encoders in wire.ts, so that planning a pipeline (which checks writers
 * against them) does not load the protocol code (start-up time).
 */
import type { MessageKind } from '../../ismrmrd/messages.js';

/** Message kinds Gantry can send to and read from a worker. */
export const WIRE_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>([
  'acquisition', 'waveform', 'image', 'recondata', 'imagearray', 'bucket', 'text',
]);
