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
  // Each header has its own mask array: changing one leaves the next header's alone.
  const a = decodeAcquisitionHeader(bytes, 0);
  const b = decodeAcquisitionHeader(bytes, 0);
  a.channel_mask[0] = 7n;
  assert.equal(b.channel_mask[0], distinct[0]);
});
