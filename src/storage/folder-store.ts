/**
 * The embedded dependency store: one folder, safe for several Gantry
 * processes sharing it (a ReadWriteMany volume in a cluster).
 *
 * Layout: `<root>/items/<hash of subject>/<uuid>.item`, one immutable file per
 * item holding a small JSON header (tags, times, size, SHA-256 of the data)
 * and the data. Files are written under `<root>/tmp/`, synced, then renamed
 * into place, so a reader sees a complete item or none (rename is atomic
 * within one file system); nothing is ever rewritten in place, so processes
 * need no locks. A truncated or altered file is detected by its size and
 * checksum and reported, never returned. Expired items are hidden at once
 * and deleted by a periodic sweep that any process may run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  combinedId, compareNewestFirst, pageOf, splitCombinedId, tagsMatch, validateTags,
} from './tags.js';
import {
  StorageError, type DependencyStore, type ItemPage, type ListOptions, type ReadOptions, type StorageTags,
  type StoreOptions, type StoredBlob, type StoredItem,
} from './types.js';

const MAGIC = Buffer.from('GANTRYB1', 'latin1');
const PREFIX_BYTES = MAGIC.length + 4;
const MAX_META_BYTES = 1 << 20;
const TMP_MAX_AGE_MS = 3_600_000;

/** Options of {@link FolderStore}. */
export interface FolderStoreOptions {
  /** Clock in ms (tests). */
  now?: () => number;
  /** Interval of the sweep that deletes expired items (ms, 0 = no timer; default 30 min). */
  sweepIntervalMs?: number;
  /** How long after expiry an item is kept on disk for readers by id (ms, default 30 min). */
  expiredGraceMs?: number;
}

interface ItemMeta {
  v: 1;
  uuid: string;
  subject: string;
  device?: string;
  session?: string;
  name?: string;
  custom?: Record<string, string[]>;
  contentType?: string;
  createdAt: number;
  expiresAt?: number;
  size: number;
  sha256: string;
}

interface Entry {
  item: StoredItem;
  meta: ItemMeta;
  path: string;
  dataOffset: number;
}

/** A dependency store in a local (or shared) folder. */
export class FolderStore implements DependencyStore {
  readonly description: string;
  private readonly now: () => number;
  private readonly graceMs: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private lastCreated = 0;

  constructor(readonly root: string, options: FolderStoreOptions = {}) {
    this.description = `folder ${root}`;
    this.now = options.now ?? Date.now;
    this.graceMs = options.expiredGraceMs ?? 30 * 60_000;
    const interval = options.sweepIntervalMs ?? 30 * 60_000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.sweep().catch(() => undefined);
      }, interval);
      this.timer.unref();
    }
  }

  async store(tags: StorageTags, data: Uint8Array, options: StoreOptions = {}): Promise<StoredItem> {
    validateTags(tags);
    const ttl = options.ttlSeconds;
    if (ttl !== undefined && (!Number.isFinite(ttl) || ttl < 0)) throw new StorageError('INVALID_TAGS', `Cannot store: time-to-live ${ttl} s is not a non-negative number`);
    const uuid = randomUUID();
    const createdAt = Math.max(this.now(), this.lastCreated + 1);
    this.lastCreated = createdAt;
    const meta: ItemMeta = {
      v: 1,
      uuid,
      subject: tags.subject,
      ...(tags.device === undefined ? {} : { device: tags.device }),
      ...(tags.session === undefined ? {} : { session: tags.session }),
      ...(tags.name === undefined ? {} : { name: tags.name }),
      ...(tags.custom && Object.keys(tags.custom).length > 0 ? { custom: Object.fromEntries(Object.entries(tags.custom).map(([k, v]) => [k, [...v]])) } : {}),
      ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
      createdAt,
      ...(ttl === undefined ? {} : { expiresAt: createdAt + Math.round(ttl * 1000) }),
      size: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
    };
    const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
    const prefix = Buffer.alloc(PREFIX_BYTES);
    MAGIC.copy(prefix, 0);
    prefix.writeUInt32LE(metaBytes.length, MAGIC.length);
    const dir = this.subjectDir(tags.subject);
    const tmpDir = join(this.root, 'tmp');
    const tmp = join(tmpDir, `${uuid}.${process.pid}.tmp`);
    const final = join(dir, `${uuid}.item`);
    try {
      await mkdir(tmpDir, { recursive: true });
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writev([prefix, metaBytes, data]);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      await syncDirectory(dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new StorageError('IO', `Cannot store in ${this.root}: ${errorText(err)}`, { cause: err });
    }
    return toItem(meta);
  }

  async latest(query: StorageTags, options: { at?: Date } = {}): Promise<StoredBlob | undefined> {
    const { entries, unreadable } = await this.entries(query.subject);
    const at = options.at?.getTime();
    const now = this.now();
    const match = entries
      .filter((e) => !expired(e.meta, now) && tagsMatch(e.item.tags, query) && (at === undefined || e.meta.createdAt <= at))
      .sort((a, b) => compareNewestFirst(a.item, b.item))[0];
    if (!match) {
      if (unreadable > 0) {
        throw new StorageError('CORRUPT', `no readable item matches the query, and ${unreadable} stored item(s) for this subject are unreadable (corrupt or truncated) in ${this.root}`);
      }
      return undefined;
    }
    return { item: match.item, data: await this.readData(match) };
  }

  async list(query: StorageTags, options: ListOptions = {}): Promise<ItemPage> {
    const { entries } = await this.entries(query.subject);
    const now = this.now();
    const sorted = entries
      .filter((e) => !expired(e.meta, now) && tagsMatch(e.item.tags, query))
      .map((e) => e.item)
      .sort(compareNewestFirst);
    return pageOf(sorted, options);
  }

  /** Every unexpired item, any subject (for listings such as gtquery.xml's). */
  async listAll(): Promise<StoredItem[]> {
    const dirs = await readdir(join(this.root, 'items')).catch(() => [] as string[]);
    const now = this.now();
    const out: StoredItem[] = [];
    for (const d of dirs) {
      const { entries } = await this.entriesIn(join(this.root, 'items', d));
      for (const e of entries) if (!expired(e.meta, now)) out.push(e.item);
    }
    return out.sort(compareNewestFirst);
  }

  async item(id: string, options: ReadOptions = {}): Promise<StoredItem | undefined> {
    return (await this.entryById(id, options))?.item;
  }

  async read(id: string, options: ReadOptions = {}): Promise<StoredBlob | undefined> {
    const entry = await this.entryById(id, options);
    if (!entry) return undefined;
    return { item: entry.item, data: await this.readData(entry) };
  }

  async health(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, fsConstants.R_OK | fsConstants.W_OK);
    } catch (err) {
      throw new StorageError('IO', `Cannot use storage folder ${this.root}: ${errorText(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes items expired longer than the grace period ago and stale temporary files; returns how many files went. */
  async sweep(): Promise<number> {
    const now = this.now();
    let removed = 0;
    const dirs = await readdir(join(this.root, 'items')).catch(() => [] as string[]);
    for (const d of dirs) {
      const { entries } = await this.entriesIn(join(this.root, 'items', d));
      for (const e of entries) {
        if (e.meta.expiresAt !== undefined && e.meta.expiresAt + this.graceMs <= now) {
          if (await unlink(e.path).then(() => true, () => false)) removed += 1;
        }
      }
    }
    const tmpDir = join(this.root, 'tmp');
    for (const f of await readdir(tmpDir).catch(() => [] as string[])) {
      const p = join(tmpDir, f);
      const info = await stat(p).catch(() => undefined);
      if (info && now - info.mtimeMs > TMP_MAX_AGE_MS && (await unlink(p).then(() => true, () => false))) removed += 1;
    }
    return removed;
  }

  private subjectDir(subject: string): string {
    return join(this.root, 'items', createHash('sha256').update(subject, 'utf8').digest('hex').slice(0, 32));
  }

  private async entries(subject: string): Promise<{ entries: Entry[]; unreadable: number }> {
    const result = await this.entriesIn(this.subjectDir(subject));
    return { entries: result.entries.filter((e) => e.meta.subject === subject), unreadable: result.unreadable };
  }

  private async entriesIn(dir: string): Promise<{ entries: Entry[]; unreadable: number }> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isNotFound(err)) return { entries: [], unreadable: 0 };
      throw new StorageError('IO', `Cannot list ${dir}: ${errorText(err)}`, { cause: err });
    }
    const entries: Entry[] = [];
    let unreadable = 0;
    for (const name of names) {
      if (!name.endsWith('.item')) continue;
      try {
        const entry = await readEntry(join(dir, name));
        if (entry) entries.push(entry);
      } catch (err) {
        if (err instanceof StorageError && err.code === 'CORRUPT') unreadable += 1;
        else throw err;
      }
    }
    return { entries, unreadable };
  }

  private async entryById(id: string, options: ReadOptions): Promise<Entry | undefined> {
    const parts = splitCombinedId(id);
    if (!parts) return undefined;
    const entry = await readEntry(join(this.subjectDir(parts.subject), `${parts.uuid}.item`));
    if (!entry || entry.meta.subject !== parts.subject) return undefined;
    const grace = (options.graceSeconds ?? 0) * 1000;
    if (entry.meta.expiresAt !== undefined && entry.meta.expiresAt + grace <= this.now()) return undefined;
    return entry;
  }

  private async readData(entry: Entry): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(entry.path);
    } catch (err) {
      if (isNotFound(err)) throw new StorageError('IO', `Cannot read item ${entry.item.id}: it was deleted while reading`, { cause: err });
      throw new StorageError('IO', `Cannot read ${entry.path}: ${errorText(err)}`, { cause: err });
    }
    const data = bytes.subarray(entry.dataOffset);
    if (data.length !== entry.meta.size) {
      throw new StorageError('CORRUPT', `stored item ${entry.meta.uuid} is truncated: ${data.length} of ${entry.meta.size} data bytes`);
    }
    if (createHash('sha256').update(data).digest('hex') !== entry.meta.sha256) {
      throw new StorageError('CORRUPT', `stored item ${entry.meta.uuid} is corrupt: its checksum does not match`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}

async function readEntry(path: string): Promise<Entry | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new StorageError('IO', `Cannot open ${path}: ${errorText(err)}`, { cause: err });
  }
  try {
    const size = (await fh.stat()).size;
    const corrupt = (why: string): StorageError => new StorageError('CORRUPT', `stored item ${path} is unreadable: ${why}`);
    if (size < PREFIX_BYTES) throw corrupt(`${size} bytes is shorter than the header`);
    const prefix = Buffer.alloc(PREFIX_BYTES);
    await fh.read(prefix, 0, PREFIX_BYTES, 0);
    if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('wrong magic bytes');
    const metaLength = prefix.readUInt32LE(MAGIC.length);
    if (metaLength > MAX_META_BYTES || PREFIX_BYTES + metaLength > size) throw corrupt(`header length ${metaLength} does not fit the file`);
    const metaBytes = Buffer.alloc(metaLength);
    await fh.read(metaBytes, 0, metaLength, PREFIX_BYTES);
    let meta: ItemMeta;
    try {
      meta = JSON.parse(metaBytes.toString('utf8')) as ItemMeta;
    } catch {
      throw corrupt('its header is not JSON');
    }
    if (!isItemMeta(meta)) throw corrupt('its header lacks required fields');
    const dataOffset = PREFIX_BYTES + metaLength;
    if (size - dataOffset !== meta.size) throw corrupt(`truncated: ${size - dataOffset} of ${meta.size} data bytes`);
    return { item: toItem(meta), meta, path, dataOffset };
  } finally {
    await fh.close();
  }
}

function isItemMeta(m: unknown): m is ItemMeta {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return o.v === 1 && typeof o.uuid === 'string' && typeof o.subject === 'string' && typeof o.createdAt === 'number'
    && typeof o.size === 'number' && typeof o.sha256 === 'string'
    && (o.expiresAt === undefined || typeof o.expiresAt === 'number')
    && (o.custom === undefined || (typeof o.custom === 'object' && o.custom !== null
      && Object.values(o.custom).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'))));
}

function toItem(meta: ItemMeta): StoredItem {
  const tags: StorageTags = {
    subject: meta.subject,
    ...(meta.device === undefined ? {} : { device: meta.device }),
    ...(meta.session === undefined ? {} : { session: meta.session }),
    ...(meta.name === undefined ? {} : { name: meta.name }),
    ...(meta.custom === undefined ? {} : { custom: meta.custom }),
  };
  return {
    id: combinedId(meta.uuid, meta.subject),
    tags,
    ...(meta.contentType === undefined ? {} : { contentType: meta.contentType }),
    createdAt: new Date(meta.createdAt),
    ...(meta.expiresAt === undefined ? {} : { expiresAt: new Date(meta.expiresAt) }),
    size: meta.size,
  };
}

function expired(meta: ItemMeta, now: number): boolean {
  return meta.expiresAt !== undefined && meta.expiresAt <= now;
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every platform can sync a directory; the rename is atomic regardless.
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as NodeJS.ErrnoException).code === 'string') {
    const e = err as NodeJS.ErrnoException;
    return `${e.code}${e.syscall ? ` (${e.syscall})` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
