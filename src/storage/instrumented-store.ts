/**
 * Visibility for a dependency store: every save and load is logged and
 * counted. Logs never carry tag values (subject, measurement ids hold
 * patient identifiers); they carry a short fingerprint of the tags instead,
 * so a save and the loads that find it can be matched up.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../util/logger.js';
import {
  StorageError, type DependencyStore, type ItemPage, type ListOptions, type ReadOptions, type StorageTags,
  type StoreOptions, type StoredBlob, type StoredItem,
} from './types.js';

/** Counters of dependency-store operations (a later issue exports them to Prometheus). */
export class StorageCounters {
  saves = 0;
  saveFailures = 0;
  bytesSaved = 0;
  loads = 0;
  loadHits = 0;
  loadMisses = 0;
  loadFailures = 0;
  bytesLoaded = 0;
  lists = 0;
  listFailures = 0;

  /** A copy of the current values. */
  snapshot(): Record<string, number> {
    return {
      saves: this.saves,
      saveFailures: this.saveFailures,
      bytesSaved: this.bytesSaved,
      loads: this.loads,
      loadHits: this.loadHits,
      loadMisses: this.loadMisses,
      loadFailures: this.loadFailures,
      bytesLoaded: this.bytesLoaded,
      lists: this.lists,
      listFailures: this.listFailures,
    };
  }
}

/** Process-wide counters of every instrumented store. */
export const storageStats = new StorageCounters();

/** A short, non-reversible fingerprint of a tag set (for logs). */
export function tagFingerprint(tags: StorageTags): string {
  const canonical = JSON.stringify([
    tags.subject, tags.device ?? null, tags.session ?? null, tags.name ?? null,
    Object.entries(tags.custom ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Wraps a store: logs and counts saves, loads and listings. */
export class InstrumentedStore implements DependencyStore {
  readonly description: string;

  constructor(readonly inner: DependencyStore, private readonly log: Logger, private readonly counters: StorageCounters = storageStats) {
    this.description = inner.description;
  }

  async store(tags: StorageTags, data: Uint8Array, options?: StoreOptions): Promise<StoredItem> {
    const started = Date.now();
    const fields = { store: this.description, name: tags.name, key: tagFingerprint(tags), bytes: data.byteLength };
    try {
      const item = await this.inner.store(tags, data, options);
      this.counters.saves += 1;
      this.counters.bytesSaved += data.byteLength;
      this.log.info('dependency saved', { ...fields, ttlSeconds: options?.ttlSeconds, ms: Date.now() - started });
      return item;
    } catch (err) {
      this.counters.saveFailures += 1;
      this.log.warn('dependency save failed', { ...fields, code: err instanceof StorageError ? err.code : undefined, error: reason(err) });
      throw err;
    }
  }

  async latest(query: StorageTags, options?: { at?: Date }): Promise<StoredBlob | undefined> {
    return this.countLoad(query, () => this.inner.latest(query, options));
  }

  async list(query: StorageTags, options?: ListOptions): Promise<ItemPage> {
    try {
      const page = await this.inner.list(query, options);
      this.counters.lists += 1;
      this.log.debug('dependencies listed', { store: this.description, key: tagFingerprint(query), items: page.items.length });
      return page;
    } catch (err) {
      this.counters.listFailures += 1;
      this.log.warn('dependency listing failed', { store: this.description, key: tagFingerprint(query), error: reason(err) });
      throw err;
    }
  }

  async listAll(): Promise<StoredItem[]> {
    if (!this.inner.listAll) throw new StorageError('UNSUPPORTED', `Cannot enumerate ${this.description}: it lists items only by subject`);
    const items = await this.inner.listAll();
    this.counters.lists += 1;
    return items;
  }

  item(id: string, options?: ReadOptions): Promise<StoredItem | undefined> {
    return this.inner.item(id, options);
  }

  async read(id: string, options?: ReadOptions): Promise<StoredBlob | undefined> {
    const started = Date.now();
    try {
      const blob = await this.inner.read(id, options);
      this.counters.loads += 1;
      if (blob) {
        this.counters.loadHits += 1;
        this.counters.bytesLoaded += blob.data.byteLength;
        this.log.info('dependency loaded', { store: this.description, name: blob.item.tags.name, key: tagFingerprint(blob.item.tags), bytes: blob.data.byteLength, ms: Date.now() - started });
      } else {
        this.counters.loadMisses += 1;
        this.log.info('dependency not found', { store: this.description, by: 'id' });
      }
      return blob;
    } catch (err) {
      this.counters.loadFailures += 1;
      this.log.warn('dependency load failed', { store: this.description, by: 'id', error: reason(err) });
      throw err;
    }
  }

  health(): Promise<void> {
    return this.inner.health();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async countLoad(query: StorageTags, load: () => Promise<StoredBlob | undefined>): Promise<StoredBlob | undefined> {
    const started = Date.now();
    const fields = { store: this.description, name: query.name, key: tagFingerprint(query) };
    try {
      const blob = await load();
      this.counters.loads += 1;
      if (blob) {
        this.counters.loadHits += 1;
        this.counters.bytesLoaded += blob.data.byteLength;
        this.log.info('dependency loaded', { ...fields, bytes: blob.data.byteLength, ms: Date.now() - started });
      } else {
        this.counters.loadMisses += 1;
        this.log.info('dependency not found', { ...fields, ms: Date.now() - started });
      }
      return blob;
    } catch (err) {
      this.counters.loadFailures += 1;
      this.log.warn('dependency load failed', { ...fields, code: err instanceof StorageError ? err.code : undefined, error: reason(err) });
      throw err;
    }
  }
}
