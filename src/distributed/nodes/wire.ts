/**
 * What crosses between a distributed node and its workers, in the Gadgetron
 * wire format: messages go out through the node's `<writers>` and come back
 * through its `<readers>`.
 */
import type { Message, MessageKind } from '../../ismrmrd/messages.js';
import { encodeBucket, encodeImageArray, encodeReconData } from '../../protocol/buffer-encoder.js';
import { encodeAcquisition, encodeImage, encodeText, encodeWaveform, MessageId, type Frame } from '../../protocol/index.js';

/** The node's readers and writers, resolved. */
export interface WireLink {
  /** Message ids accepted from workers (the slots of the node's readers). */
  readonly readerIds: ReadonlySet<number>;
  /** Message kinds sent to workers (those of the node's writers). */
  readonly writerKinds: ReadonlySet<MessageKind>;
}

export { WIRE_KINDS } from './wire-kinds.js';

/** The wire id of each message kind that has one. */
export const WIRE_IDS: Readonly<Partial<Record<MessageKind, number>>> = {
  acquisition: MessageId.ACQUISITION,
  waveform: MessageId.WAVEFORM,
  image: MessageId.IMAGE,
  recondata: MessageId.RECONDATA,
  imagearray: MessageId.IMAGE_ARRAY,
  bucket: MessageId.BUCKET,
  text: MessageId.TEXT,
};

/** The frames of `message` for a worker, or undefined when no writer of the node takes its kind. */
export function encodeForWorker(message: Message, link: WireLink): Uint8Array[] | undefined {
  if (!link.writerKinds.has(message.kind)) return undefined;
  switch (message.kind) {
    case 'acquisition':
      return encodeAcquisition(message);
    case 'waveform':
      return encodeWaveform(message);
    case 'image':
      return encodeImage(message);
    case 'recondata':
      return encodeReconData(message);
    case 'imagearray':
      return encodeImageArray(message);
    case 'bucket':
      return encodeBucket(message);
    case 'text':
      return encodeText(message.text);
    default:
      return undefined;
  }
}

/** A data frame from a worker as a message, or undefined when the frame is not a data message. */
export function messageOfFrame(frame: Frame): { id: number; message: Message } | undefined {
  switch (frame.kind) {
    case 'acquisition':
      return { id: MessageId.ACQUISITION, message: frame.acquisition };
    case 'waveform':
      return { id: MessageId.WAVEFORM, message: frame.waveform };
    case 'image':
      return { id: MessageId.IMAGE, message: frame.image };
    case 'recondata':
      return { id: MessageId.RECONDATA, message: frame.reconData };
    case 'image-array':
      return { id: MessageId.IMAGE_ARRAY, message: frame.imageArray };
    case 'bucket':
      return { id: MessageId.BUCKET, message: frame.bucket };
    default:
      return undefined;
  }
}

/** Approximate size in bytes of a message (for the job buffer budget). */
export function messageBytes(message: Message): number {
  switch (message.kind) {
    case 'acquisition':
      return 340 + message.data.byteLength + message.traj.byteLength;
    case 'waveform':
      return 40 + message.data.byteLength;
    case 'image':
      return 198 + message.data.byteLength;
    case 'recondata': {
      let n = 8;
      for (const bit of message.rbit) {
        for (const b of bit.ref ? [bit.data, bit.ref] : [bit.data]) {
          n += b.data.data.byteLength + 340 * b.headers.length + (b.trajectory?.data.byteLength ?? 0) + (b.density?.data.byteLength ?? 0);
        }
      }
      return n;
    }
    case 'imagearray':
      return message.data.data.byteLength + 198 * message.headers.length;
    case 'bucket': {
      let n = 104;
      for (const a of message.data) n += 340 + a.data.byteLength + a.traj.byteLength;
      for (const a of message.ref) n += 340 + a.data.byteLength + a.traj.byteLength;
      return n;
    }
    case 'text':
      return message.text.length;
    case 'dependencyquery':
      return message.xml.length;
    default:
      return 1024;
  }
}
