import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { serializeMeta } from '../ismrmrd/meta.js';
import { FrameDecoder } from './decoder.js';
import { concatChunks, encodeFrame } from './encoder.js';
import { ProtocolError } from './errors.js';
import { arbitraryFrame } from './frame-testing.js';
import type { Frame } from './frames.js';
import type { ProtocolLimits } from './limits.js';
import { MessageId } from './message-id.js';

const frame = arbitraryFrame;

/** The frame as a decoder returns it: an image's `attribute_string_len` is the attribute length sent. */
function asReceived(f: Frame): Frame {
  if (f.kind !== 'image') return f;
  const sent = f.image.meta.size === 0 ? 0 : Buffer.byteLength(serializeMeta(f.image.meta)) + 1;
  return { kind: 'image', image: { ...f.image, head: { ...f.image.head, attribute_string_len: sent } } };
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.byteLength === 0 ? 0 : c % (bytes.byteLength + 1))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.byteLength]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

test('FrameDecoder decodes any valid frame sequence identically however the bytes are split, with or without views', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), fc.boolean(), (frames, cuts, encoderChunks, views) => {
      const encoded = frames.flatMap(encodeFrame);
      const chunks = encoderChunks ? encoded : splitAt(concatChunks(encoded), cuts);
      const decoder = new FrameDecoder({}, { views });
      const decoded = chunks.flatMap((chunk) => decoder.push(chunk));
      decoder.end();
      assert.equal(decoder.pending, 0);
      assert.deepStrictEqual(decoded, frames.map(asReceived));
    }),
    { seed: 42, numRuns: 300 },
  );
});

const fuzzLimits: ProtocolLimits = {
  maxConfigBytes: 2048,
  maxHeaderBytes: 2048,
  maxTextBytes: 1024,
  maxQueryBytes: 256,
  maxMetaBytes: 2048,
  maxAcquisitionBytes: 8192,
  maxImageBytes: 8192,
  maxWaveformBytes: 1024,
  maxArrayBytes: 4096,
  maxMessageBytes: 12000,
};

const knownIds = Object.values(MessageId);

/** Valid streams with bytes overwritten and cut short, random bytes, and known ids followed by noise. */
const hostileStream: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc
    .tuple(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat())
    .map(([frames, edits, cut]) => {
      const bytes = concatChunks(frames.flatMap(encodeFrame));
      for (const [at, value] of edits) if (bytes.byteLength > 0) bytes[at % bytes.byteLength] = value;
      return bytes.subarray(0, bytes.byteLength - (cut % (bytes.byteLength + 1)) * (cut % 2));
    }),
  fc
    .array(fc.tuple(fc.constantFrom(...knownIds), fc.uint8Array({ maxLength: 400 })), { minLength: 1, maxLength: 6 })
    .map((parts) => concatChunks(parts.flatMap(([id, noise]) => [Uint8Array.of(id & 0xff, id >>> 8), noise]))),
);

interface Outcome {
  frames: Frame[];
  error: unknown;
}

/** Decodes `chunks`, checking after each push that `pending` stays within `maxMessageBytes`. */
function decodeHostile(chunks: Uint8Array[], views = false): Outcome {
  const decoder = new FrameDecoder(fuzzLimits, { views });
  const frames: Frame[] = [];
  let error: unknown;
  try {
    for (const chunk of chunks) {
      frames.push(...decoder.push(chunk));
      assert.ok(decoder.pending <= fuzzLimits.maxMessageBytes, `pending ${decoder.pending}`);
    }
    decoder.end();
  } catch (caught) {
    error = caught;
  }
  if (decoder.errored !== null) {
    error ??= decoder.errored;
    assert.equal(decoder.errored, error);
    assert.throws(() => decoder.push(Uint8Array.of(4, 0)), (e) => e === error);
    assert.throws(() => decoder.end(), (e) => e === error);
  }
  return { frames, error };
}

test('FrameDecoder throws only ProtocolError on hostile input, bounds pending, and ignores chunk boundaries', () => {
  fc.assert(
    fc.property(hostileStream, fc.array(fc.nat(), { maxLength: 16 }), (bytes, cuts) => {
      const split = decodeHostile(splitAt(bytes, cuts), true);
      if (split.error !== undefined) assert.ok(split.error instanceof ProtocolError, `unexpected ${String(split.error)}`);
      const whole = decodeHostile([bytes]);
      assert.deepStrictEqual(split.frames, whole.frames);
      assert.equal((split.error as Error | undefined)?.message, (whole.error as Error | undefined)?.message);
    }),
    { seed: 42, numRuns: 300 },
  );
});
