/**
 * The dependency store: immutable blobs (noise covariances and the like)
 * described by tags, with the semantics of mrd-storage-server, which
 * Gadgetron uses for measurement dependencies.
 */

/**
 * Tags of a stored item, or a query over them. `subject` is required (`$null`
 * when no patient is involved); system tags are single-valued; custom tag
 * names are lower case and may hold several values.
 */
export interface StorageTags {
  readonly subject: string;
  readonly device?: string;
  readonly session?: string;
  readonly name?: string;
  readonly custom?: Readonly<Record<string, readonly string[]>>;
}

/** Metadata of one stored item. */
export interface StoredItem {
  /** Globally unique id, `<uuid>-<subject>` as mrd-storage-server forms it. */
  readonly id: string;
  readonly tags: StorageTags;
  /** MIME type given when storing (may be absent, as in mrd-storage-server). */
  readonly contentType?: string;
  readonly createdAt: Date;
  readonly expiresAt?: Date;
  /** Data length in bytes (undefined when the backend does not say). */
  readonly size?: number;
}

/** An item and its data. */
export interface StoredBlob {
  readonly item: StoredItem;
  readonly data: Uint8Array;
}

/** Options of {@link DependencyStore.store}. */
export interface StoreOptions {
  /** Time to live in seconds; the item is hidden and deleted afterwards. */
  readonly ttlSeconds?: number;
  readonly contentType?: string;
}

/** Options of {@link DependencyStore.list}. */
export interface ListOptions {
  /** Page size, 1…100 (default 100). */
  readonly limit?: number;
  /** Only items created at or before this time. */
  readonly at?: Date;
  /** Continuation token from a previous page. */
  readonly continuation?: string;
}

/** One page of a listing, newest first. */
export interface ItemPage {
  readonly items: StoredItem[];
  /** Present when more items follow. */
  readonly continuation?: string;
}

/** Options for reading one item by id. */
export interface ReadOptions {
  /** Still return an item this many seconds after it expired (mrd-storage-server serves data links for 30 min). */
  readonly graceSeconds?: number;
}

/**
 * Where measurement dependencies are kept. A query matches an item when every
 * tag it names equals the item's (for a custom tag: every value it names is
 * one of the item's values); tags it does not name match anything.
 * Expired items are never returned.
 */
export interface DependencyStore {
  /** Human-readable location (a folder or URL), free of credentials. */
  readonly description: string;
  store(tags: StorageTags, data: Uint8Array, options?: StoreOptions): Promise<StoredItem>;
  /** The newest item matching `query`, with its data; undefined when none. */
  latest(query: StorageTags, options?: { at?: Date }): Promise<StoredBlob | undefined>;
  list(query: StorageTags, options?: ListOptions): Promise<ItemPage>;
  /** Metadata of one item by id; undefined when absent or expired. */
  item(id: string, options?: ReadOptions): Promise<StoredItem | undefined>;
  /** One item and its data by id; undefined when absent or expired. */
  read(id: string, options?: ReadOptions): Promise<StoredBlob | undefined>;
  /** Every unexpired item of any subject, newest first; only stores that can enumerate (the folder store) have it. */
  listAll?(): Promise<StoredItem[]>;
  /** Resolves when the store is usable; rejects with the reason otherwise. */
  health(): Promise<void>;
  close(): Promise<void>;
}

/** Stable codes of {@link StorageError}. */
export type StorageErrorCode =
  | 'UNREACHABLE'
  | 'BAD_RESPONSE'
  | 'REJECTED'
  | 'CORRUPT'
  | 'IO'
  | 'INVALID_TAGS'
  | 'INCOMPLETE_CONTEXT'
  | 'UNSUPPORTED';

/** A storage operation failed. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(readonly code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
