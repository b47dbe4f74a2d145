/**
 * The Gadgetron wire protocol: message ids, frames, the incremental decoder and the encoder.
 */
export { MessageId, messageIdName } from './message-id.js';
export type { MessageIdName, MessageIdValue } from './message-id.js';
export type {
  AcquisitionFrame,
  CloseFrame,
  ConfigFileFrame,
  ConfigScriptFrame,
  DependencyQueryFrame,
  DicomFrame,
  ErrorFrame,
  Frame,
  FrameKind,
  HeaderFrame,
  ImageFrame,
  QueryFrame,
  ResponseFrame,
  TextFrame,
  WaveformFrame,
} from './frames.js';
export { ProtocolError } from './errors.js';
export type { ProtocolErrorCode } from './errors.js';
export { defaultProtocolLimits, mergeProtocolLimits } from './limits.js';
export type { ProtocolLimits } from './limits.js';
export { FrameDecoder } from './decoder.js';
export {
  concatChunks,
  encodeAcquisition,
  encodeClose,
  encodeConfigFile,
  encodeConfigScript,
  encodeDependencyQuery,
  encodeDicom,
  encodeError,
  encodeFrame,
  encodeHeader,
  encodeImage,
  encodeQuery,
  encodeResponse,
  encodeText,
  encodeWaveform,
} from './encoder.js';
