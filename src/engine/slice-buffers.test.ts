import assert from 'node:assert/strict';
import test from 'node:test';
import { giveBackSliceBuffer, MAX_KEPT, releaseIdleMemory, releaseKept, sliceBufferStats, takeSliceBuffer } from './slice-buffers.js';

const FLOATS = 5 << 20; // 20 MiB: above the 16 MiB that is kept

test('a slice buffer handed back is reused for the next of its size, zeroed', () => {
  releaseKept();
  const a = takeSliceBuffer(FLOATS);
  assert.ok(a.buffer instanceof SharedArrayBuffer);
  a.fill(3);
  giveBackSliceBuffer(a);
  assert.equal(sliceBufferStats().kept, 1);
  const other = takeSliceBuffer(FLOATS + 2); // another size: a fresh one
  assert.notEqual(other.buffer, a.buffer);
  const before = sliceBufferStats().reused;
  const b = takeSliceBuffer(FLOATS);
  assert.equal(b.buffer, a.buffer, 'the same memory');
  assert.equal(sliceBufferStats().reused, before + 1);
  assert.equal(b.length, FLOATS);
  assert.ok(b.every((v) => v === 0), 'zeroed');
  assert.equal(sliceBufferStats().kept, 0);
  releaseKept();
});

test('views, plain memory and small buffers are left to the GC; at most MAX_KEPT are kept', () => {
  releaseKept();
  const whole = takeSliceBuffer(FLOATS);
  giveBackSliceBuffer(whole.subarray(1));
  giveBackSliceBuffer(new Float32Array(FLOATS));
  giveBackSliceBuffer(new Float32Array(new SharedArrayBuffer(4096)));
  assert.equal(sliceBufferStats().kept, 0);
  giveBackSliceBuffer(whole);
  giveBackSliceBuffer(whole);
  assert.equal(sliceBufferStats().kept, 1, 'handed back twice, kept once');
  for (let i = 0; i < MAX_KEPT + 2; i++) giveBackSliceBuffer(takeSliceBuffer(FLOATS + 4 * (i + 1)));
  assert.equal(sliceBufferStats().kept, MAX_KEPT);
  releaseKept();
  assert.equal(sliceBufferStats().kept, 0);
});

test('going idle lets the kept buffers go; the next take is a fresh buffer', () => {
  releaseKept();
  const a = takeSliceBuffer(FLOATS);
  giveBackSliceBuffer(a);
  assert.equal(sliceBufferStats().kept, 1);
  releaseIdleMemory();
  assert.equal(sliceBufferStats().kept, 0);
  const b = takeSliceBuffer(FLOATS);
  assert.notEqual(b.buffer, a.buffer);
  releaseKept();
});
