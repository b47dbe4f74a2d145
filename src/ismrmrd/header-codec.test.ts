import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeAcquisitionHeader, encodeAcquisitionHeader } from './header-codec.js';
import { emptyAcquisitionHeader, type AcquisitionHeader } from './types.js';

function withWords(mask: readonly bigint[], flags: bigint): AcquisitionHeader {
  return { ...emptyAcquisitionHeader(), channel_mask: [...mask], flags, number_of_samples: 64, active_channels: 32 };
}

test('acquisition headers decode their 64-bit words right whatever the header before them held', () => {
  // Decoding shares a BigInt between consecutive headers with the same word: each header must still read its own.
  const distinct = Array.from({ length: 16 }, (_v, i) => (BigInt(i + 1) << 33n) | BigInt(0xffff_ffff - i));
  const zero = new Array<bigint>(16).fill(0n);
  const loOnly = new Array<bigint>(16).fill(0xffff_ffffn);
  const hiOnly = new Array<bigint>(16).fill(0xffff_ffffn << 32n);
  const sequence: [readonly bigint[], bigint][] = [
    [distinct, (1n << 63n) | 5n], [zero, 0n], [distinct, (1n << 63n) | 5n], [distinct, 1n << 40n],
    [loOnly, 1n], [hiOnly, 1n << 32n], [loOnly, 1n],
    // The same low half, another high half.
    [loOnly.map((w) => w | (1n << 32n)), (1n << 32n) | 1n], [zero, 0n],
  ];
  const bytes = new Uint8Array(340 * sequence.length);
  sequence.forEach(([mask, flags], k) => encodeAcquisitionHeader(withWords(mask, flags), bytes, 340 * k));
  sequence.forEach(([mask, flags], k) => {
    const h = decodeAcquisitionHeader(bytes, 340 * k);
    assert.deepEqual(h.channel_mask, mask, `header ${k}: channel mask`);
    assert.equal(h.flags, flags, `header ${k}: flags`);
    assert.equal(h.number_of_samples, 64);
  });
  // Headers with the same words share one frozen mask array (the types make it readonly): no header can change another's.
  const a = decodeAcquisitionHeader(bytes, 0);
  const b = decodeAcquisitionHeader(bytes, 0);
  assert.equal(a.channel_mask, b.channel_mask);
  assert.ok(Object.isFrozen(a.channel_mask));
  assert.throws(() => {
    (a.channel_mask as bigint[])[0] = 7n;
  }, TypeError);
  assert.equal(b.channel_mask[0], distinct[0]);
});

test('consecutive acquisition headers with equal arrays share them, frozen; any difference (−0 included) gets its own', () => {
  const base = (): AcquisitionHeader => ({
    ...emptyAcquisitionHeader(), number_of_samples: 64, active_channels: 8,
    position: [1.5, -2, 3], read_dir: [1, 0, 0], phase_dir: [0, 1, 0], slice_dir: [0, 0, 1], patient_table_position: [0, 0, -1200],
    physiology_time_stamp: [10, 20, 30], user_int: [1, 2, 3, 4, 5, 6, 7, -8], user_float: [0.5, 0, 0, 0, 0, 0, 0, 1e-3],
  });
  const first = base();
  const second = { ...base(), idx: { ...base().idx, kspace_encode_step_1: 5, user: [0, 0, 0, 0, 0, 0, 0, 9] } };
  const third = { ...base(), position: [1.5, -2, -0] as [number, number, number], user_float: [0.5, 0, 0, 0, 0, 0, 0, 2e-3] };
  const bytes = new Uint8Array(340 * 3);
  [first, second, third].forEach((h, k) => encodeAcquisitionHeader(h, bytes, 340 * k));
  const [a, b, c] = [0, 1, 2].map((k) => decodeAcquisitionHeader(bytes, 340 * k)) as [AcquisitionHeader, AcquisitionHeader, AcquisitionHeader];
  // Values as encoded (float32), each header its own.
  assert.deepEqual(a.position, [1.5, -2, 3]);
  assert.deepEqual(b.idx.user, [0, 0, 0, 0, 0, 0, 0, 9]);
  assert.equal(b.idx.kspace_encode_step_1, 5);
  assert.ok(Object.is(c.position[2], -0), '−0 kept');
  assert.equal(c.user_float[7], Math.fround(2e-3));
  // Equal arrays shared and frozen; a different value, −0 against 0 included, a new array.
  for (const field of ['read_dir', 'phase_dir', 'slice_dir', 'patient_table_position', 'physiology_time_stamp', 'user_int'] as const) {
    assert.equal(a[field], b[field], `${field} shared`);
    assert.equal(b[field], c[field], `${field} shared`);
    assert.ok(Object.isFrozen(a[field]), `${field} frozen`);
  }
  assert.equal(a.position, b.position);
  assert.notEqual(b.position, c.position);
  assert.notEqual(a.idx.user, b.idx.user);
  assert.notEqual(b.user_float, c.user_float);
  assert.notEqual(a.idx, b.idx, 'the counters are each header\'s own');
  // Round trip: re-encoding the decoded headers gives the same bytes.
  const again = new Uint8Array(340 * 3);
  [a, b, c].forEach((h, k) => encodeAcquisitionHeader(h, again, 340 * k));
  assert.deepEqual(again, bytes);
});
