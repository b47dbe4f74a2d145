import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStore } from './folder-store.js';
import { StorageError } from './types.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-folder-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function itemFiles(root: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(root, 'items'))) for (const f of readdirSync(join(root, 'items', d))) out.push(join(root, 'items', d, f));
  return out;
}

test('folder store: store, latest, list newest first, read by id', async (t) => {
  const store = new FolderStore(tempDir(t), { sweepIntervalMs: 0 });
  const a = await store.store({ subject: 'S', name: 'noise_covariance', custom: { measurement: ['m1'] } }, Uint8Array.of(1));
  const b = await store.store({ subject: 'S', name: 'noise_covariance', custom: { measurement: ['m1'] } }, Uint8Array.of(2));
  await store.store({ subject: 'S', name: 'noise_covariance', custom: { measurement: ['m2'] } }, Uint8Array.of(3));
  await store.store({ subject: 'T', name: 'noise_covariance', custom: { measurement: ['m1'] } }, Uint8Array.of(4));
  const latest = await store.latest({ subject: 'S', name: 'noise_covariance', custom: { measurement: ['m1'] } });
  assert.deepEqual(Array.from(latest?.data ?? []), [2]);
  assert.equal(latest?.item.id, b.id);
  const page = await store.list({ subject: 'S', custom: { measurement: ['m1'] } });
  assert.deepEqual(page.items.map((i) => i.id), [b.id, a.id]);
  assert.equal((await store.list({ subject: 'S' })).items.length, 3);
  assert.equal(await store.latest({ subject: 'S', device: 'nope' }), undefined);
  assert.deepEqual(Array.from((await store.read(a.id))?.data ?? []), [1]);
  assert.equal((await store.item(a.id))?.tags.subject, 'S');
  assert.equal(await store.read('00000000-0000-0000-0000-000000000000-S'), undefined);
  const first = await store.list({ subject: 'S' }, { limit: 2 });
  assert.equal(first.items.length, 2);
  assert.ok(first.continuation);
  const second = await store.list({ subject: 'S' }, { limit: 2, continuation: first.continuation as string });
  assert.deepEqual(second.items.map((i) => i.id), [a.id]);
  assert.equal(second.continuation, undefined);
  await store.close();
});

test('folder store: TTL hides expired items at once; the sweep deletes them after the grace period', async (t) => {
  let now = 1_000_000;
  const root = tempDir(t);
  const store = new FolderStore(root, { now: () => now, sweepIntervalMs: 0, expiredGraceMs: 60_000 });
  const item = await store.store({ subject: 'S', name: 'x' }, Uint8Array.of(9), { ttlSeconds: 10 });
  assert.equal(item.expiresAt?.getTime(), 1_010_000);
  assert.ok(await store.latest({ subject: 'S', name: 'x' }));
  now += 10_000;
  assert.equal(await store.latest({ subject: 'S', name: 'x' }), undefined);
  assert.equal((await store.list({ subject: 'S' })).items.length, 0);
  assert.ok(await store.read(item.id, { graceSeconds: 60 }), 'readable by id within the grace period');
  assert.equal(await store.read(item.id), undefined);
  assert.equal(await store.sweep(), 0);
  now += 60_000;
  assert.equal(await store.sweep(), 1);
  assert.equal(itemFiles(root).length, 0);
});

test('folder store: a truncated or altered item is reported as corrupt, never returned', async (t) => {
  const root = tempDir(t);
  const store = new FolderStore(root, { sweepIntervalMs: 0 });
  await store.store({ subject: 'S', name: 'x' }, new Uint8Array(1000).fill(7));
  const [file] = itemFiles(root);
  truncateSync(file as string, statSync(file as string).size - 10);
  await assert.rejects(store.latest({ subject: 'S', name: 'x' }), (err: unknown) => err instanceof StorageError && err.code === 'CORRUPT');
  rmSync(file as string);
  await store.store({ subject: 'S', name: 'x' }, new Uint8Array(100).fill(7));
  const [again] = itemFiles(root);
  const bytes = readFileSync(again as string);
  bytes[bytes.length - 1] = 0;
  writeFileSync(again as string, bytes);
  await assert.rejects(store.latest({ subject: 'S', name: 'x' }), /checksum/);
  writeFileSync(again as string, 'garbage');
  await assert.rejects(store.latest({ subject: 'S', name: 'x' }), /unreadable/);
});

test('folder store: several processes write and read one folder at once without torn reads', { timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  const moduleUrl = new URL('./folder-store.js', import.meta.url).href;
  const writers = 4;
  const perWriter = 15;
  const script = `
    const { FolderStore } = await import(${JSON.stringify(moduleUrl)});
    const store = new FolderStore(process.argv[1], { sweepIntervalMs: 0 });
    const w = Number(process.argv[2]);
    for (let i = 0; i < ${perWriter}; i++) {
      const size = 50000 + ((w * 7919 + i * 104729) % 200000);
      const data = new Uint8Array(size).fill((w * 31 + i) & 255);
      await store.store({ subject: 'shared', name: 'blob', custom: { writer: [String(w)], index: [String(i)] } }, data);
    }
  `;
  const children = Array.from({ length: writers }, (_v, w) => new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root, String(w)], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', resolve);
  }));
  const reader = new FolderStore(root, { sweepIntervalMs: 0 });
  let done = false;
  let reads = 0;
  const reading = (async () => {
    while (!done) {
      const blob = await reader.latest({ subject: 'shared', name: 'blob' });
      if (blob) {
        const w = Number(blob.item.tags.custom?.writer?.[0]);
        const i = Number(blob.item.tags.custom?.index?.[0]);
        assert.ok(blob.data.every((v) => v === ((w * 31 + i) & 255)), 'data belongs to its tags');
        reads += 1;
      }
    }
  })();
  const codes = await Promise.all(children);
  done = true;
  await reading;
  assert.deepEqual(codes, Array(writers).fill(0));
  const all = await reader.list({ subject: 'shared', name: 'blob' }, { limit: 100 });
  assert.equal(all.items.length, writers * perWriter);
  assert.equal(readdirSync(join(root, 'tmp')).length, 0, 'no temporary files left');
  t.diagnostic(`${reads} concurrent reads, all complete`);
});

test('folder store: health creates the folder and reports an unusable one', async (t) => {
  const root = tempDir(t);
  await new FolderStore(join(root, 'a', 'b'), { sweepIntervalMs: 0 }).health();
  writeFileSync(join(root, 'file'), 'x');
  await assert.rejects(new FolderStore(join(root, 'file', 'sub'), { sweepIntervalMs: 0 }).health(), /Cannot use storage folder/);
});
