import test from 'node:test';
import assert from 'node:assert/strict';
import { makeAcquisition } from '../../gadgets/testing.js';
import type { ReconBit, ReconData } from '../../ismrmrd/buffers.js';
import { acquisitionDistributor, bufferDistributor, counterValue, PARALLEL_DIMENSIONS, type ParallelDimension } from './distributors.js';

test('AcquisitionDistributor keys lanes by every parallel_dimension', () => {
  const a = makeAcquisition({
    samples: 4,
    idx: { kspace_encode_step_1: 1, kspace_encode_step_2: 2, average: 3, slice: 4, contrast: 5, phase: 6, repetition: 7, set: 8, segment: 9, user: [10, 11, 12, 13, 14, 15, 16, 17] },
  });
  const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  PARALLEL_DIMENSIONS.forEach((dimension, i) => {
    assert.equal(counterValue(a, dimension), expected[i], dimension);
    const lanes = acquisitionDistributor.create({ parallel_dimension: dimension }, undefined).assign(a);
    assert.deepEqual(lanes.map((l) => l.lane), [`${dimension}=${expected[i]}`]);
    assert.equal(lanes[0]?.message, a);
  });
});

test('AcquisitionDistributor defaults to slice and refuses unknown dimensions at plan time', () => {
  assert.equal(acquisitionDistributor.properties.parallel_dimension.default, 'slice');
  assert.ok(!(acquisitionDistributor.properties.parallel_dimension.values as readonly string[]).includes('foo' as ParallelDimension));
});

test('BufferDistributor splits recon data by encoding space', () => {
  const bit = (n: number): ReconBit => ({ data: { data: { data: new Float32Array(2 * n), dims: [n] }, headers: [], headerDims: [], sampling: undefined as never } });
  const recon: ReconData = { kind: 'recondata', rbit: [bit(1), bit(2)] };
  const lanes = bufferDistributor.create({}, undefined).assign(recon);
  assert.deepEqual(lanes.map((l) => l.lane), ['encoding=0', 'encoding=1']);
  assert.deepEqual(lanes.map((l) => (l.message.kind === 'recondata' ? l.message.rbit.length : 0)), [1, 1]);
  assert.equal(lanes[1]?.message.kind === 'recondata' && lanes[1].message.rbit[0], recon.rbit[1]);
});
