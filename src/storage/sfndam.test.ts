import test from 'node:test';
import assert from 'node:assert/strict';
import {
  SfndamFormatError, decodeNoiseCovariance, decodeSfndam, encodeNoiseCovariance, encodeSfndam, type NoiseCovariance,
} from './sfndam.js';

function sample(): NoiseCovariance {
  const channels = 3;
  const matrix = new Float32Array(2 * channels * channels);
  for (let k = 0; k < matrix.length; k++) matrix[k] = Math.fround(0.25 * k - 1);
  return { channels, labels: ['H1', 'H2', 'B3'], sampleCount: 512, noiseDwellTimeUs: 5, receiverNoiseBandwidth: 0.793, matrix };
}

test('SFNDAM noise covariance round trip', () => {
  const nc = sample();
  const back = decodeNoiseCovariance(encodeNoiseCovariance(nc));
  assert.deepEqual(back, nc);
});

test('SFNDAM byte layout: magic, version, type 7, ndims, u64 dims, u64 meta length, data, JSON meta', () => {
  const nc = sample();
  const bytes = Buffer.from(encodeNoiseCovariance(nc));
  assert.equal(bytes.toString('latin1', 0, 6), 'SFNDAM');
  assert.equal(bytes.readUInt32LE(6), 1);
  assert.equal(bytes.readUInt32LE(10), 7);
  assert.equal(bytes.readUInt32LE(14), 2);
  assert.equal(bytes.readBigUInt64LE(18), 3n);
  assert.equal(bytes.readBigUInt64LE(26), 3n);
  const metaLength = Number(bytes.readBigUInt64LE(34));
  const dataStart = 42;
  for (let k = 0; k < nc.matrix.length; k++) assert.equal(bytes.readFloatLE(dataStart + 4 * k), nc.matrix[k]);
  const meta = JSON.parse(bytes.toString('utf8', dataStart + 8 * 9, dataStart + 8 * 9 + metaLength)) as Record<string, unknown>;
  assert.equal(bytes.length, dataStart + 8 * 9 + metaLength);
  assert.deepEqual(Object.keys(meta), ['channels', 'labels', 'noiseDwellTimeUs', 'receiverNoiseBandwidth', 'sampleCount']);
  assert.deepEqual(meta.labels, ['H1', 'H2', 'B3']);
});

test('SFNDAM reads the snake_case metadata of older Gadgetron builds', () => {
  const nc = sample();
  const meta = JSON.stringify({ channels: 3, labels: nc.labels, noise_dwell_time_us: 2.5, receiver_noise_bandwidth: 0.5, sample_count: 9 });
  const values = new Uint8Array(nc.matrix.buffer.slice(0));
  const back = decodeNoiseCovariance(encodeSfndam({ type: 7, dims: [3, 3], values, meta }));
  assert.equal(back.noiseDwellTimeUs, 2.5);
  assert.equal(back.receiverNoiseBandwidth, 0.5);
  assert.equal(back.sampleCount, 9);
});

test('SFNDAM refuses truncated, foreign and inconsistent blobs with a reason', () => {
  const bytes = encodeNoiseCovariance(sample());
  for (const cut of [0, 5, 20, 41, 60, bytes.length - 1]) {
    assert.throws(() => decodeNoiseCovariance(bytes.subarray(0, cut)), (err: unknown) => err instanceof SfndamFormatError && /truncated/.test(err.message), `cut at ${cut}`);
  }
  const foreign = Uint8Array.from(bytes);
  foreign[0] = 0x58;
  assert.throws(() => decodeNoiseCovariance(foreign), /magic/);
  const huge = Buffer.from(bytes);
  huge.writeBigUInt64LE(1n << 40n, 18);
  assert.throws(() => decodeSfndam(huge), /truncated/);
  const nan = Buffer.from(bytes);
  nan.writeFloatLE(Number.NaN, 42);
  assert.throws(() => decodeNoiseCovariance(nan), /non-finite/);
  const meta = JSON.stringify({ channels: 4, labels: [], sampleCount: 1, noiseDwellTimeUs: 1, receiverNoiseBandwidth: 1 });
  assert.throws(() => decodeNoiseCovariance(encodeSfndam({ type: 7, dims: [3, 3], values: new Uint8Array(72), meta })), /4 channels/);
  assert.throws(() => decodeNoiseCovariance(encodeSfndam({ type: 5, dims: [3, 3], values: new Uint8Array(36), meta: '{}' })), /complex float/);
  assert.throws(() => decodeNoiseCovariance(encodeSfndam({ type: 7, dims: [3, 3], values: new Uint8Array(72), meta: 'not json' })), /JSON/);
});
