/**
 * Stream configurations: finding a config file, parsing v1/v2 XML into a typed tree, and writing
 * the tree back as version 2 XML.
 */
export { ConfigError, type ConfigErrorCode, type ConfigErrorOptions } from './errors.js';
export {
  MAX_CONFIG_ELEMENTS,
  MAX_CONFIG_LENGTH,
  MAX_CONFIG_XML_DEPTH,
  MAX_STREAM_DEPTH,
  parseStreamConfiguration,
  type ComponentSpec,
  type DistributedSpec,
  type ExternalAction,
  type ExternalLanguage,
  type ExternalSpec,
  type GadgetSpec,
  type NodeSpec,
  type ParallelProcessSpec,
  type ParallelSpec,
  type ParseConfigOptions,
  type PropertySpec,
  type PureDistributedSpec,
  type ReaderSpec,
  type SourcePosition,
  type StreamConfiguration,
  type StreamSpec,
  type WriterSpec,
} from './stream-config.js';
export { streamComponents } from './property-references.js';
export { serializeStreamConfiguration, workerConfiguration, type SerializeConfigOptions } from './serialize-config.js';
export {
  MAX_CONFIG_NAME_BYTES,
  invalidNameReason,
  loadStreamConfiguration,
  resolveConfigName,
  shippedConfigDir,
  type ConfigFile,
} from './config-files.js';
