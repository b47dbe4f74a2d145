/**
 * Byte accounting by message type for the `mrd_received_bytes_total` and
 * `mrd_sent_bytes_total` counters. Sent sizes are exact (the encoded chunks);
 * received sizes are the wire size of the decoded message, computed from its
 * contents (exact for acquisitions, waveforms and fixed frames; image meta is
 * counted as Gantry would encode it).
 */
import { ACQUISITION_HEADER_SIZE, IMAGE_HEADER_SIZE, WAVEFORM_HEADER_SIZE } from '../ismrmrd/header-codec.js';
import { metaIsEmpty, serializeMeta } from '../ismrmrd/meta.js';
import type { Frame } from '../protocol/frames.js';
import { MessageId } from '../protocol/message-id.js';

/** The `message_type` label values. */
export type MessageTypeLabel =
  | 'acquisition' | 'waveform' | 'image' | 'dicom' | 'text' | 'config' | 'header' | 'query' | 'response' | 'close'
  | 'dependency_query' | 'recon_data' | 'image_array' | 'bucket' | 'other';

const labelsById: ReadonlyMap<number, MessageTypeLabel> = new Map<number, MessageTypeLabel>([
  [MessageId.FILENAME, 'config'], [MessageId.CONFIG, 'config'], [MessageId.HEADER, 'header'], [MessageId.CLOSE, 'close'],
  [MessageId.TEXT, 'text'], [MessageId.QUERY, 'query'], [MessageId.RESPONSE, 'response'], [MessageId.ERROR, 'text'],
  [MessageId.ACQUISITION, 'acquisition'], [MessageId.DICOM_WITHNAME, 'dicom'], [MessageId.DEPENDENCY_QUERY, 'dependency_query'],
  [MessageId.IMAGE, 'image'], [MessageId.RECONDATA, 'recon_data'], [MessageId.IMAGE_ARRAY, 'image_array'],
  [MessageId.WAVEFORM, 'waveform'], [MessageId.BUCKET, 'bucket'],
]);

/** The label of a message id. */
export function messageTypeLabel(id: number): MessageTypeLabel {
  return labelsById.get(id) ?? 'other';
}

const utf8 = new TextEncoder();
const textBytes = (s: string): number => utf8.encode(s).byteLength;

/** Type label and wire size of a decoded frame. */
export function receivedFrameSize(frame: Frame): { type: MessageTypeLabel; bytes: number } {
  switch (frame.kind) {
    case 'acquisition':
      return { type: 'acquisition', bytes: 2 + ACQUISITION_HEADER_SIZE + 4 * (frame.acquisition.traj.length + frame.acquisition.data.length) };
    case 'waveform':
      return { type: 'waveform', bytes: 2 + WAVEFORM_HEADER_SIZE + frame.waveform.data.byteLength };
    case 'image': {
      const meta = metaIsEmpty(frame.image.meta) ? 0 : textBytes(serializeMeta(frame.image.meta)) + 1;
      return { type: 'image', bytes: 2 + IMAGE_HEADER_SIZE + 8 + meta + frame.image.data.byteLength };
    }
    case 'config-file':
      return { type: 'config', bytes: 2 + 1024 };
    case 'config-script':
      return { type: 'config', bytes: 2 + 4 + textBytes(frame.xml) };
    case 'header':
      return { type: 'header', bytes: 2 + 4 + textBytes(frame.xml) };
    case 'close':
      return { type: 'close', bytes: 2 };
    case 'text':
      return { type: 'text', bytes: 2 + 4 + textBytes(frame.text) };
    case 'query':
      return { type: 'query', bytes: 2 + 24 + textBytes(frame.key) };
    case 'dicom':
      return { type: 'dicom', bytes: 2 + 4 + frame.dicom.byteLength + 16 + textBytes(frame.filename) };
    default:
      return { type: 'other', bytes: 0 };
  }
}

/** Type label and size of one encoded message (its chunks, the first starting with the id). */
export function sentMessageSize(chunks: readonly Uint8Array[]): { type: MessageTypeLabel; bytes: number } {
  const first = chunks[0];
  const id = first && first.byteLength >= 2 ? (first[0] as number) | ((first[1] as number) << 8) : -1;
  let bytes = 0;
  for (const c of chunks) bytes += c.byteLength;
  return { type: messageTypeLabel(id), bytes };
}
