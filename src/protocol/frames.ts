/**
 * One decoded Gadgetron wire message, as a tagged union over `kind`.
 * The body layouts (after the 2-byte little-endian id) are listed beside each member.
 */
import type { AcquisitionBucket, ImageArray, ReconData } from '../ismrmrd/buffers.js';
import type { Acquisition, Image, MetaContainer, Waveform } from '../ismrmrd/types.js';

/** Id 1: name of a configuration on the server (1024-byte NUL-padded buffer). */
export interface ConfigFileFrame {
  readonly kind: 'config-file';
  name: string;
}

/** Id 2: configuration XML text (`u32` length + bytes). */
export interface ConfigScriptFrame {
  readonly kind: 'config-script';
  xml: string;
}

/** Id 3: the ISMRMRD XML header (`u32` length + bytes; a trailing NUL is dropped). */
export interface HeaderFrame {
  readonly kind: 'header';
  xml: string;
}

/** Id 4: end of stream (no body). */
export interface CloseFrame {
  readonly kind: 'close';
}

/** Id 5: log text, also used for error reports (`u32` length + bytes). */
export interface TextFrame {
  readonly kind: 'text';
  text: string;
}

/** Id 6: a query (`u64` reserved, `u64` correlation id, `u64` length + key). */
export interface QueryFrame {
  readonly kind: 'query';
  /** Must be 0 for Gadgetron; kept as received so the session can reject it. */
  reserved: bigint;
  correlationId: bigint;
  key: string;
}

/** Id 7: the answer to a query (`u64` correlation id, `u64` length + text). */
export interface ResponseFrame {
  readonly kind: 'response';
  correlationId: bigint;
  text: string;
}

/** Id 8: an error (`u64` length + text, as Gadgetron's worker link reads it). */
export interface ErrorFrame {
  readonly kind: 'error';
  text: string;
}

/** Id 1008: one readout (340-byte header + trajectory + data). */
export interface AcquisitionFrame {
  readonly kind: 'acquisition';
  acquisition: Acquisition;
}

/** Id 1026: a physiological waveform (40-byte header + `u32` samples). */
export interface WaveformFrame {
  readonly kind: 'waveform';
  waveform: Waveform;
}

/** Id 1022: an image (198-byte header + `u64` attribute length + attributes + pixels). */
export interface ImageFrame {
  readonly kind: 'image';
  image: Image;
}

/** Id 1019: a dependency-query reply (`u64` length + meta XML). */
export interface DependencyQueryFrame {
  readonly kind: 'dependency-query';
  xml: string;
}

/** Id 1018: a DICOM file (`u32` length + bytes, `u64` length + file name, `u64` length + meta XML). */
export interface DicomFrame {
  readonly kind: 'dicom';
  dicom: Uint8Array;
  filename: string;
  meta: MetaContainer;
}

/**
 * Id 1023: recon buffers (`IsmrmrdReconData`): `u64` count of recon bits, each
 * a data buffer and an optional reference buffer (see `docs/wire-formats.md`).
 */
export interface ReconDataFrame {
  readonly kind: 'recondata';
  reconData: ReconData;
}

/**
 * Id 1024: an image array (`IsmrmrdImageArray`): complex data, image headers,
 * meta list, optional waveforms, optional acquisition headers.
 */
export interface ImageArrayFrame {
  readonly kind: 'image-array';
  imageArray: ImageArray;
}

/**
 * Id 1050: an acquisition bucket: a 104-byte block of sizes, then data and
 * reference readouts with their statistics, then waveforms.
 */
export interface BucketFrame {
  readonly kind: 'bucket';
  bucket: AcquisitionBucket;
}

/** Any message Gantry can decode or encode. */
export type Frame =
  | ConfigFileFrame
  | ConfigScriptFrame
  | HeaderFrame
  | CloseFrame
  | TextFrame
  | QueryFrame
  | ResponseFrame
  | ErrorFrame
  | AcquisitionFrame
  | WaveformFrame
  | ImageFrame
  | DependencyQueryFrame
  | DicomFrame
  | ReconDataFrame
  | ImageArrayFrame
  | BucketFrame;

/** The `kind` tags of all frames. */
export type FrameKind = Frame['kind'];
