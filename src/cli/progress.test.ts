import test from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar, progressLine } from './progress.js';

function fakeStream(isTTY: boolean, columns = 80): { isTTY: boolean; columns: number; written: string[]; write(t: string): boolean } {
  const written: string[] = [];
  return { isTTY, columns, written, write: (t: string) => written.push(t) > 0 };
}

test('progressLine shows a bar, the percentage, acquisitions and images', () => {
  assert.equal(progressLine({ acquisitions: 128, total: 256, images: 0 }, 80), `[${'#'.repeat(20)}${'-'.repeat(20)}]  50% 128/256 acquisitions, 0 images`);
  assert.equal(progressLine({ acquisitions: 256, total: 256, images: 1 }, 80), `[${'#'.repeat(40)}] 100% 256/256 acquisitions, 1 image`);
  assert.equal(progressLine({ acquisitions: 0, total: 0, images: 0 }, 80).includes('100% 0/0'), true);
});

test('progressLine fits narrow terminals', () => {
  const line = progressLine({ acquisitions: 3, total: 4096, images: 12 }, 30);
  assert.ok(line.length < 30, line);
  assert.match(line, /^0% 3\/4096/);
});

test('the bar writes nothing when the stream is not a TTY', () => {
  const s = fakeStream(false);
  const bar = new ProgressBar(s, { intervalMs: 0 });
  bar.update({ acquisitions: 1, total: 2, images: 0 });
  bar.done();
  assert.equal(bar.active, false);
  assert.deepEqual(s.written, []);
});

test('the bar redraws in place at most once per interval and erases itself', () => {
  let now = 0;
  const s = fakeStream(true);
  const bar = new ProgressBar(s, { intervalMs: 100, now: () => now });
  bar.update({ acquisitions: 1, total: 4, images: 0 });
  now = 50;
  bar.update({ acquisitions: 2, total: 4, images: 0 });
  now = 150;
  bar.update({ acquisitions: 4, total: 4, images: 1 });
  assert.equal(s.written.length, 2);
  assert.ok(s.written.every((w) => w.startsWith('\r') && !w.includes('\n')));
  assert.match(s.written[1] ?? '', /100% 4\/4 acquisitions, 1 image/);
  bar.done();
  const last = s.written.at(-1) ?? '';
  const unknownWidth = fakeStream(true, 0);
  new ProgressBar(unknownWidth, { intervalMs: 0 }).update({ acquisitions: 1, total: 2, images: 0 });
  assert.match(unknownWidth.written[0] ?? '', /^\r\[#{20}-{20}\]  50% 1\/2 acquisitions, 0 images$/);
  assert.match(last, /^\r +\r$/);
  assert.equal(last.length, 2 + (s.written[1] ?? '').length - 1);
});
