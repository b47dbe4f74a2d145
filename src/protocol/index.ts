/**
 * The Gadgetron wire protocol: message ids, frames, the incremental decoder and the encoder.
 */
export { MessageId, messageIdName } from './message-id.js';
export type { MessageIdName, MessageIdValue } from './message-id.js';
export type {
  AcquisitionFrame,
  BucketFrame,
  CloseFrame,
  ConfigFileFrame,
  ConfigScriptFrame,
  DependencyQueryFrame,
  DicomFrame,
  ErrorFrame,
  Frame,
  FrameKind,
  HeaderFrame,
  ImageArrayFrame,
  ImageFrame,
  QueryFrame,
  ReconDataFrame,
  ResponseFrame,
  TextFrame,
  WaveformFrame,
} from './frames.js';
export { ProtocolError } from './errors.js';
export type { ProtocolErrorCode } from './errors.js';
export { defaultProtocolLimits, mergeProtocolLimits } from './limits.js';
export type { ProtocolLimits } from './limits.js';
export { FrameDecoder, type FrameDecoderOptions } from './decoder.js';
export {
  concatChunks,
  encodeAcquisition,
  encodeBucket,
  encodeClose,
  encodeConfigFile,
  encodeConfigScript,
  encodeDependencyQuery,
  encodeDicom,
  encodeError,
  encodeFrame,
  encodeHeader,
  encodeImage,
  encodeImageArray,
  encodeQuery,
  encodeReconData,
  encodeResponse,
  encodeText,
  encodeWaveform,
} from './encoder.js';
