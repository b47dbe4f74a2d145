/**
 * Gadgetron message ids (the `uint16` that starts every frame on the wire).
 * Values follow Gadgetron 4's `core/MessageID.h`.
 */

/** The message ids Gantry knows by name. */
export const MessageId = {
  FILENAME: 1,
  CONFIG: 2,
  HEADER: 3,
  CLOSE: 4,
  TEXT: 5,
  QUERY: 6,
  RESPONSE: 7,
  ERROR: 8,
  ACQUISITION: 1008,
  DICOM_WITHNAME: 1018,
  DEPENDENCY_QUERY: 1019,
  IMAGE: 1022,
  RECONDATA: 1023,
  IMAGE_ARRAY: 1024,
  WAVEFORM: 1026,
  BUCKET: 1050,
  BUNDLE: 1051,
} as const;

/** The name of a known message id, e.g. `'ACQUISITION'`. */
export type MessageIdName = keyof typeof MessageId;

/** A known message id value, e.g. `1008`. */
export type MessageIdValue = (typeof MessageId)[MessageIdName];

const namesById: ReadonlyMap<number, MessageIdName> = new Map(
  (Object.keys(MessageId) as MessageIdName[]).map((name) => [MessageId[name], name] as const),
);

/** The name of message id `id` (`1022` → `'IMAGE'`), or `undefined` when Gantry does not know it. */
export function messageIdName(id: number): MessageIdName | undefined {
  return namesById.get(id);
}
