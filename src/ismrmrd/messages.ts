/**
 * Everything that flows through a pipeline, as one tagged union.
 */
import type { AcquisitionBucket, ImageArray, ReconData } from './buffers.js';
import type { Acquisition, Image, MetaContainer, Waveform } from './types.js';

/** A log or status text (message 5). */
export interface TextMessage {
  readonly kind: 'text';
  text: string;
}

/** A dependency-query reply (message 1019): meta XML. */
export interface DependencyQueryMessage {
  readonly kind: 'dependencyquery';
  xml: string;
}

/**
 * A DICOM file for the client (message 1018, written by DicomImageWriter):
 * Part-10 bytes, a file name and meta; `image` is the image it was made from
 * (kept for the server's viewer; never sent).
 */
export interface DicomMessage {
  readonly kind: 'dicom';
  bytes: Uint8Array;
  filename: string;
  meta: MetaContainer;
  image?: Image;
}

/** Any message a gadget can receive or emit. */
export type Message =
  | Acquisition
  | Waveform
  | Image
  | AcquisitionBucket
  | ReconData
  | ImageArray
  | TextMessage
  | DependencyQueryMessage
  | DicomMessage;

/** The `kind` tags of all messages. */
export type MessageKind = Message['kind'];

/** Type guards for each message kind. */
export const isAcquisition = (m: Message): m is Acquisition => m.kind === 'acquisition';
export const isWaveform = (m: Message): m is Waveform => m.kind === 'waveform';
export const isImage = (m: Message): m is Image => m.kind === 'image';
export const isBucket = (m: Message): m is AcquisitionBucket => m.kind === 'bucket';
export const isReconData = (m: Message): m is ReconData => m.kind === 'recondata';
export const isImageArray = (m: Message): m is ImageArray => m.kind === 'imagearray';
export const isText = (m: Message): m is TextMessage => m.kind === 'text';
export const isDicom = (m: Message): m is DicomMessage => m.kind === 'dicom';
