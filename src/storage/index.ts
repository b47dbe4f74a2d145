/** Measurement dependency storage: the store interface, its backends, the REST API and the noise covariance format. */
export {
  StorageError, type DependencyStore, type ItemPage, type ListOptions, type ReadOptions, type StorageErrorCode,
  type StorageTags, type StoreOptions, type StoredBlob, type StoredItem,
} from './types.js';
export { FolderStore, type FolderStoreOptions } from './folder-store.js';
export { RestStore, type RestStoreOptions } from './rest-client.js';
export { StorageHttpServer, type StorageHttpServerOptions } from './rest-server.js';
export { InstrumentedStore, StorageCounters, storageStats, tagFingerprint } from './instrumented-store.js';
export { openDependencyStore, checkDependencyStore, defaultStorageDir, type StoreSettings } from './open-store.js';
export {
  NOISE_COVARIANCE_NAME, DEFAULT_DEPENDENCY_TTL_SECONDS, LEGACY_NOISE_PREFIX, measurementReadTags, measurementWriteTags,
  noiseDependencyId, storageContextFromHeader, storageContextFromMeasurementId, type StorageContext,
} from './context.js';
export {
  SfndamFormatError, SfndamType, decodeNoiseCovariance, decodeSfndam, encodeNoiseCovariance, encodeSfndam,
  type NoiseCovariance, type Sfndam,
} from './sfndam.js';
export { NULL_SUBJECT, parseGoDuration, splitCombinedId, tagsMatch } from './tags.js';
