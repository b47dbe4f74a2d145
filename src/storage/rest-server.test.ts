/**
 * The REST API of `gantry storage`, checked against mrd-storage-server's
 * documented behaviour (README: create, read, search, latest, custom tags,
 * TTL, health check), plus Gantry's REST client against it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../util/logger.js';
import { FolderStore } from './folder-store.js';
import { RestStore } from './rest-client.js';
import { StorageHttpServer } from './rest-server.js';
import { StorageError } from './types.js';

async function startServer(t: { after: (fn: () => Promise<void> | void) => void }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-rest-'));
  const store = new FolderStore(dir, { sweepIntervalMs: 0 });
  const server = new StorageHttpServer({ store, host: '127.0.0.1', port: 0, log: silentLogger });
  const address = await server.listen();
  t.after(async () => {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return `http://127.0.0.1:${address.port}`;
}

async function post(base: string, query: string, body: string, contentType = 'text/plain'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/blobs/data?${query}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('storage API: create a blob returns 201 with its tags, location and data link', async (t) => {
  const base = await startServer(t);
  const { status, json } = await post(base, 'subject=123&session=mysession&name=NoiseCovariance', 'This is my content');
  assert.equal(status, 201);
  assert.equal(json.subject, '123');
  assert.equal(json.session, 'mysession');
  assert.equal(json.name, 'NoiseCovariance');
  assert.equal(json.contentType, 'text/plain');
  assert.match(String(json.location), new RegExp(`^${base}/v1/blobs/[0-9a-f-]{36}-123$`));
  assert.equal(json.data, `${json.location}/data`);
  assert.ok(!Number.isNaN(Date.parse(String(json.lastModified))));
  assert.equal(json.expires, undefined);

  const read = await fetch(String(json.data));
  assert.equal(read.status, 200);
  assert.equal(await read.text(), 'This is my content');
  assert.equal(read.headers.get('content-type'), 'text/plain');
  assert.equal(read.headers.get('mrd-tag-subject'), '123');
  assert.equal(read.headers.get('mrd-tag-session'), 'mysession');
  assert.equal(read.headers.get('mrd-tag-name'), 'NoiseCovariance');
  assert.ok(read.headers.get('last-modified'));

  const meta = await fetch(String(json.location));
  assert.equal(meta.status, 200);
  assert.equal(((await meta.json()) as Record<string, unknown>).name, 'NoiseCovariance');
});

test('storage API: latest returns the newest match with its tags as headers, 404 when absent', async (t) => {
  const base = await startServer(t);
  await post(base, 'subject=123&session=mysession&name=NoiseCovariance', 'first');
  const second = await post(base, 'subject=123&session=mysession&name=NoiseCovariance', 'second');
  await post(base, 'subject=123&session=other&name=NoiseCovariance', 'other session');
  const res = await fetch(`${base}/v1/blobs/data/latest?subject=123&session=mysession&name=NoiseCovariance`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'second');
  assert.equal(res.headers.get('location'), second.json.location);
  assert.equal(res.headers.get('mrd-tag-session'), 'mysession');
  const missing = await fetch(`${base}/v1/blobs/data/latest?subject=123&name=Nothing`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: { code: 'EmptyResults', message: 'The search returned no results.' } });
  assert.equal((await fetch(`${base}/v1/blobs/00000000-0000-0000-0000-000000000000-123/data`)).status, 404);
  assert.equal((await fetch(`${base}/v1/blobs/not-an-id`)).status, 404);
  assert.equal((await fetch(`${base}/v1/nothing/here`)).status, 404);
});

test('storage API: search lists matches newest first, with tag names case-insensitive', async (t) => {
  const base = await startServer(t);
  for (let i = 0; i < 3; i++) await post(base, `subject=123&session=s&name=N${i}`, `c${i}`);
  await post(base, 'subject=456&session=s&name=N0', 'x');
  const res = await fetch(`${base}/v1/blobs?SUBJECT=123&Session=s`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { items: Record<string, unknown>[]; nextLink?: string };
  assert.deepEqual(body.items.map((i) => i.name), ['N2', 'N1', 'N0']);
  assert.equal(body.nextLink, undefined);
  const none = (await (await fetch(`${base}/v1/blobs?subject=789`)).json()) as { items: unknown[] };
  assert.deepEqual(none.items, []);
});

test('storage API: search pages with _limit and nextLink, and filters with _at', async (t) => {
  const base = await startServer(t);
  const created: string[] = [];
  for (let i = 0; i < 5; i++) created.push(String((await post(base, 'subject=p&name=n', `c${i}`)).json.lastModified));
  const seen: unknown[] = [];
  let url: string | undefined = `${base}/v1/blobs?subject=p&_limit=2`;
  let pages = 0;
  while (url) {
    const body = (await (await fetch(url)).json()) as { items: Record<string, unknown>[]; nextLink?: string };
    assert.ok(body.items.length <= 2);
    seen.push(...body.items.map((i) => i.lastModified));
    url = body.nextLink;
    pages += 1;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, [...created].reverse());
  const at = (await (await fetch(`${base}/v1/blobs?subject=p&_at=${encodeURIComponent(created[1] as string)}`)).json()) as { items: Record<string, unknown>[] };
  assert.deepEqual(at.items.map((i) => i.lastModified), [created[1], created[0]]);
  assert.equal((await fetch(`${base}/v1/blobs?subject=p&_at=yesterday`)).status, 400);
  assert.equal((await fetch(`${base}/v1/blobs?subject=p&_ct=bogus`)).status, 400);
});

test('storage API: custom tags hold several values; a search matches any value, several criteria must all match', async (t) => {
  const base = await startServer(t);
  const { json } = await post(base, 'subject=someone&customTag1=a&customTag1=b', 'x');
  assert.deepEqual(json.customtag1, ['a', 'b']);
  const count = async (q: string): Promise<number> => ((await (await fetch(`${base}/v1/blobs?${q}`)).json()) as { items: unknown[] }).items.length;
  assert.equal(await count('subject=someone&customTag1=a'), 1);
  assert.equal(await count('subject=someone&customtag1=b'), 1);
  assert.equal(await count('subject=someone&customTag1=a&customTag1=missing'), 0);
  assert.equal(await count('subject=someone&customTag1=a&customTag1=b'), 1);
  const data = await fetch(String(json.data));
  assert.equal(data.headers.get('mrd-tag-customtag1'), 'a, b');
  await post(base, 'subject=someone&measurement=m1', 'y');
  const single = (await (await fetch(`${base}/v1/blobs?subject=someone&measurement=m1`)).json()) as { items: Record<string, unknown>[] };
  assert.equal(single.items[0]?.measurement, 'm1', 'a single-valued custom tag is a string');
});

test('storage API: the subject is required ($null allowed); bad tags and durations are 400s', async (t) => {
  const base = await startServer(t);
  const missing = await post(base, 'name=x', 'x');
  assert.equal(missing.status, 400);
  assert.equal((missing.json.error as { code: string }).code, 'InvalidTag');
  assert.equal((await post(base, 'subject=', 'x')).status, 400);
  assert.equal((await post(base, 'subject=a&subject=b', 'x')).status, 400);
  assert.equal((await post(base, 'subject=a&name=1&name=2', 'x')).status, 400);
  assert.equal((await post(base, 'subject=a&location=x', 'x')).status, 400);
  assert.equal((await post(base, 'subject=a&9bad=x', 'x')).status, 400);
  assert.equal((await post(base, `subject=a&name=${'v'.repeat(129)}`, 'x')).status, 400);
  assert.equal((await post(base, 'subject=a&_ttl=forever', 'x')).status, 400);
  assert.equal((await post(base, 'subject=a&_ttl=-5m', 'x')).status, 400);
  assert.equal((await post(base, 'subject=%24null&device=scanner1&name=cal', 'x')).status, 201);
  const res = await fetch(`${base}/v1/blobs?name=x`);
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'InvalidQuery');
  assert.equal((await fetch(`${base}/v1/blobs/data/latest?subject=%24null&device=scanner1`)).status, 200);
});

test('storage API: _ttl sets expires; an expired blob disappears from search and latest', async (t) => {
  const base = await startServer(t);
  const { json } = await post(base, 'subject=123&name=short&_ttl=1s', 'soon gone');
  const expires = Date.parse(String(json.expires));
  assert.ok(Math.abs(expires - Date.parse(String(json.lastModified)) - 1000) < 2);
  await post(base, 'subject=123&name=long&_ttl=48h', 'stays');
  const data = await fetch(String(json.data));
  assert.ok(data.headers.get('expires'));
  assert.equal(await data.text(), 'soon gone');
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await fetch(`${base}/v1/blobs/data/latest?subject=123&name=short`)).status, 404);
  const list = (await (await fetch(`${base}/v1/blobs?subject=123`)).json()) as { items: Record<string, unknown>[] };
  assert.deepEqual(list.items.map((i) => i.name), ['long']);
  assert.equal((await fetch(String(json.location))).status, 404, 'metadata of an expired blob is gone');
});

test('storage API: the health check answers {"status":"OK"}', async (t) => {
  const base = await startServer(t);
  const res = await fetch(`${base}/healthcheck`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'OK' });
  assert.equal((await fetch(`${base}/healthcheck`, { method: 'POST' })).status, 405);
});

test('REST client: stores, finds, lists and reads through the API; absent is undefined', async (t) => {
  const base = await startServer(t);
  const client = new RestStore(`${base}/`);
  const tags = { subject: 'S', device: 'D', session: 'E', name: 'noise_covariance', custom: { measurement: ['D_S_E_1'] } };
  const item = await client.store(tags, Uint8Array.of(1, 2, 3), { ttlSeconds: 3600 });
  assert.deepEqual(item.tags, tags);
  assert.ok(item.expiresAt);
  const latest = await client.latest({ subject: 'S', name: 'noise_covariance', custom: { measurement: ['D_S_E_1'] } });
  assert.deepEqual(Array.from(latest?.data ?? []), [1, 2, 3]);
  assert.deepEqual(latest?.item.tags, tags);
  assert.equal(latest?.item.id, item.id);
  assert.equal(await client.latest({ subject: 'S', custom: { measurement: ['other'] } }), undefined);
  for (let i = 0; i < 3; i++) await client.store({ subject: 'S', name: `n${i}` }, Uint8Array.of(i));
  const page = await client.list({ subject: 'S' }, { limit: 3 });
  assert.equal(page.items.length, 3);
  assert.ok(page.continuation);
  const rest = await client.list({ subject: 'S' }, { limit: 3, continuation: page.continuation as string });
  assert.deepEqual(rest.items.map((i) => i.id), [item.id]);
  assert.deepEqual(Array.from((await client.read(item.id))?.data ?? []), [1, 2, 3]);
  assert.equal((await client.item(item.id))?.tags.name, 'noise_covariance');
  await client.health();
  await assert.rejects(client.store({ subject: '' }, Uint8Array.of(1)), (err: unknown) => err instanceof StorageError && err.code === 'INVALID_TAGS');
});

test('REST client: an unreachable server is a clear UNREACHABLE error', async () => {
  const client = new RestStore('http://127.0.0.1:1', { timeoutMs: 2000 });
  await assert.rejects(client.latest({ subject: 'S' }), (err: unknown) => err instanceof StorageError && err.code === 'UNREACHABLE' && /Cannot reach the storage server at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/.test(err.message));
  await assert.rejects(client.health(), /ECONNREFUSED/);
  assert.throws(() => new RestStore('ftp://x'), /only http and https/);
});
