/**
 * Tag rules shared by the stores, the REST client and the REST server
 * (mrd-storage-server's documented behaviour): validation, matching, query
 * strings, ids and time-to-live durations.
 */
import { StorageError, type StorageTags, type StoredItem } from './types.js';

/** The subject value for items that belong to no patient. */
export const NULL_SUBJECT = '$null';

const SYSTEM_TAGS = new Set(['subject', 'device', 'session', 'name']);
const RESERVED_TAGS = new Set(['location', 'last-modified', 'lastmodified', 'content-type', 'contenttype']);
const TAG_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** Longest tag value accepted (mrd-storage-server: 128). */
export const MAX_TAG_VALUE_LENGTH = 128;

/** Throws StorageError('INVALID_TAGS') unless `tags` can be stored. */
export function validateTags(tags: StorageTags): void {
  if (typeof tags.subject !== 'string' || tags.subject === '') {
    throw new StorageError('INVALID_TAGS', `the subject tag is missing and must be provided; use ${NULL_SUBJECT} when no subject is associated`);
  }
  const values: [string, string][] = [['subject', tags.subject]];
  for (const name of ['device', 'session', 'name'] as const) {
    const v = tags[name];
    if (v !== undefined) values.push([name, v]);
  }
  for (const [name, list] of Object.entries(tags.custom ?? {})) {
    if (name !== name.toLowerCase() || !TAG_NAME.test(name)) {
      throw new StorageError('INVALID_TAGS', `tag name '${name}' is invalid: it must start with a letter a-z, followed by up to 63 letters, digits, hyphens or underscores`);
    }
    if (SYSTEM_TAGS.has(name) || RESERVED_TAGS.has(name)) throw new StorageError('INVALID_TAGS', `tag name '${name}' is reserved`);
    for (const v of list) values.push([name, v]);
  }
  for (const [name, v] of values) {
    if (typeof v !== 'string') throw new StorageError('INVALID_TAGS', `the value of tag '${name}' is not a string`);
    if (Buffer.byteLength(v, 'utf8') > MAX_TAG_VALUE_LENGTH) {
      throw new StorageError('INVALID_TAGS', `the value for tag '${name}' is longer than ${MAX_TAG_VALUE_LENGTH} UTF-8 characters`);
    }
  }
}

/** True when `item` has every tag value that `query` names. */
export function tagsMatch(item: StorageTags, query: StorageTags): boolean {
  if (item.subject !== query.subject) return false;
  if (query.device !== undefined && item.device !== query.device) return false;
  if (query.session !== undefined && item.session !== query.session) return false;
  if (query.name !== undefined && item.name !== query.name) return false;
  for (const [name, wanted] of Object.entries(query.custom ?? {})) {
    const have = item.custom?.[name] ?? [];
    for (const v of wanted) if (!have.includes(v)) return false;
  }
  return true;
}

/** Appends `tags` to URL search parameters (custom tags repeat). */
export function appendTagParams(params: URLSearchParams, tags: StorageTags): URLSearchParams {
  params.append('subject', tags.subject);
  if (tags.device !== undefined) params.append('device', tags.device);
  if (tags.session !== undefined) params.append('session', tags.session);
  if (tags.name !== undefined) params.append('name', tags.name);
  for (const [name, list] of Object.entries(tags.custom ?? {})) for (const v of list) params.append(name, v);
  return params;
}

/** Query parameters with lower-cased names, values of equal names merged (names are case-insensitive). */
export function normalizedParams(params: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of params) {
    const name = k.toLowerCase();
    const list = out.get(name);
    if (list) list.push(v);
    else out.set(name, [v]);
  }
  return out;
}

/**
 * Tags from normalized query parameters; names starting with `_` (controls
 * such as `_ttl`, `_limit`) are left out. For storing, system tags must be
 * single-valued; for searching, several values of a system tag can never all
 * match, so they give a query that matches nothing (`impossible`).
 */
export function tagsFromParams(params: Map<string, string[]>, forStore: boolean): { tags: StorageTags; impossible: boolean } {
  const subject = params.get('subject');
  if (!subject || subject.length === 0) {
    throw new StorageError('INVALID_TAGS', forStore
      ? `The subject tag is missing and must be provided. If no subject is associated with the blob, specify \`${NULL_SUBJECT}\``
      : `'subject' query parameter is mandatory. To search for blobs not associated with a subject, specify 'subject=${NULL_SUBJECT}'`);
  }
  let impossible = false;
  const single = (name: string): string | undefined => {
    const list = params.get(name);
    if (list === undefined) return undefined;
    if (list.length !== 1) {
      if (forStore) throw new StorageError('INVALID_TAGS', `only one value for tag '${name}' can be given`);
      impossible = true;
    }
    return list[0];
  };
  const subjectValue = single('subject') as string;
  if (forStore && subjectValue === '') throw new StorageError('INVALID_TAGS', 'the subject tag cannot be empty');
  const custom: Record<string, string[]> = {};
  for (const [name, list] of params) {
    if (name.startsWith('_') || SYSTEM_TAGS.has(name)) continue;
    if (RESERVED_TAGS.has(name)) throw new StorageError('INVALID_TAGS', `tag name '${name}' is reserved`);
    if (!TAG_NAME.test(name)) {
      throw new StorageError('INVALID_TAGS', `tag name '${name}' is invalid: it must start with a letter a-z, followed by up to 63 letters, digits, hyphens or underscores`);
    }
    custom[name] = [...list];
  }
  const device = single('device');
  const session = single('session');
  const name = single('name');
  const tags: StorageTags = {
    subject: subjectValue,
    ...(device === undefined ? {} : { device }),
    ...(session === undefined ? {} : { session }),
    ...(name === undefined ? {} : { name }),
    ...(Object.keys(custom).length > 0 ? { custom } : {}),
  };
  if (forStore) validateTags(tags);
  return { tags, impossible };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Seconds of a Go duration string (`48h`, `2h45m`, `1.5s`, `172800s`, `0`),
 * the `_ttl` syntax of mrd-storage-server. Throws StorageError('INVALID_TAGS').
 */
export function parseGoDuration(text: string): number {
  const bad = (why: string): StorageError => new StorageError('INVALID_TAGS', `_ttl: invalid duration "${text}": ${why}`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad('empty');
  let total = 0;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) throw bad('expected a number followed by a unit (ns, us, ms, s, m, h)');
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    s = s.slice(m[0].length);
  }
  if (sign < 0 && total > 0) throw new StorageError('INVALID_TAGS', '_ttl: time-to-live cannot be negative');
  return total;
}

/** mrd-storage-server's id form: `<uuid>-<subject>`. */
export function combinedId(uuid: string, subject: string): string {
  return `${uuid}-${subject}`;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Splits a combined id; undefined when it is not one. */
export function splitCombinedId(id: string): { uuid: string; subject: string } | undefined {
  if (id.length < 37 || id[36] !== '-') return undefined;
  const uuid = id.slice(0, 36);
  if (!UUID.test(uuid)) return undefined;
  return { uuid: uuid.toLowerCase(), subject: id.slice(37) };
}

/** A time as Go's RFC3339Nano writes it in UTC (no trailing zeros in the fraction). */
export function formatRfc3339(date: Date): string {
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}

/** The JSON object mrd-storage-server returns for an item (keys sorted, as Go writes maps). */
export function itemJson(item: StoredItem, baseUri: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    subject: item.tags.subject,
    lastModified: formatRfc3339(item.createdAt),
    location: `${baseUri}/blobs/${encodeURIComponent(item.id)}`,
    data: `${baseUri}/blobs/${encodeURIComponent(item.id)}/data`,
  };
  if (item.expiresAt) out.expires = formatRfc3339(item.expiresAt);
  if (item.contentType !== undefined) out.contentType = item.contentType;
  if (item.tags.device !== undefined) out.device = item.tags.device;
  if (item.tags.name !== undefined) out.name = item.tags.name;
  if (item.tags.session !== undefined) out.session = item.tags.session;
  for (const [name, list] of Object.entries(item.tags.custom ?? {})) out[name] = list.length === 1 ? list[0] : [...list];
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(out).sort()) sorted[key] = out[key];
  return sorted;
}

/** Newest first; ties broken by id so that every listing has one order. */
export function compareNewestFirst(a: StoredItem, b: StoredItem): number {
  const dt = b.createdAt.getTime() - a.createdAt.getTime();
  if (dt !== 0) return dt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A continuation token naming the last item of a page. */
export function encodeContinuation(item: StoredItem): string {
  return Buffer.from(JSON.stringify({ t: item.createdAt.getTime(), id: item.id }), 'utf8').toString('base64url');
}

/** The position a continuation token names; throws StorageError('INVALID_TAGS') when it is not one. */
export function decodeContinuation(token: string): { t: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { t?: unknown }).t === 'number' && typeof (v as { id?: unknown }).id === 'string') {
      return v as { t: number; id: string };
    }
  } catch {
    // fall through
  }
  throw new StorageError('INVALID_TAGS', "The '_ct' parameter is invalid.");
}

/** True when `item` comes after the continuation position in newest-first order. */
export function isAfterContinuation(item: StoredItem, position: { t: number; id: string }): boolean {
  const t = item.createdAt.getTime();
  if (t !== position.t) return t < position.t;
  return item.id < position.id;
}

/**
 * Pages a full newest-first list: items after `continuation`, at or before
 * `at`, at most `limit`, with a token when more follow.
 */
export function pageOf(sorted: StoredItem[], options: { limit?: number; at?: Date; continuation?: string }): { items: StoredItem[]; continuation?: string } {
  const limit = clampLimit(options.limit);
  const position = options.continuation ? decodeContinuation(options.continuation) : undefined;
  const at = options.at?.getTime();
  const eligible = sorted.filter((it) => (at === undefined || it.createdAt.getTime() <= at) && (!position || isAfterContinuation(it, position)));
  const items = eligible.slice(0, limit);
  const last = items[items.length - 1];
  return eligible.length > limit && last ? { items, continuation: encodeContinuation(last) } : { items };
}

/** Page sizes as mrd-storage-server clamps them: 1…100, anything else 100. */
export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isInteger(limit) || limit <= 0 || limit > 100) return 100;
  return limit;
}
