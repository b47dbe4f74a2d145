import assert from 'node:assert/strict';
import test from 'node:test';
import { DataType, ImageType, type Image } from '../ismrmrd/types.js';
import { kernelBackend } from '../kernels/native.js';
import { seededMagnitudes } from '../kernels/testing.js';
import { fixedPointInto, fixedPointMode, floatToFixedPoint, floatToIntGadget, floatToShortGadget, floatToUIntGadget, floatToUShortGadget } from './float-to-fixed-point.js';
import { makeImage, ofKind, runGadget } from './testing.js';

function floatImage(imageType: number, values: readonly number[]): Image {
  return makeImage({ matrix_size: [values.length, 1, 1], data_type: DataType.FLOAT, image_type: imageType, image_series_index: 3 },
    Float32Array.from(values), new Map([['k', ['v']]]));
}

/** The default chain's settings (Generic_Cartesian_Grappa.xml). */
const CONFIG = { max_intensity: '32767', min_intensity: '0', intensity_offset: '0' };

async function convert(gadget = floatToUShortGadget, image: Image, properties: Record<string, string> = {}): Promise<Image> {
  const [out] = ofKind(await runGadget(gadget, [image], { properties }), 'image');
  assert.ok(out);
  return out;
}

test('FloatToUShortGadget rounds half away from zero and clamps magnitudes to [min, max]', async () => {
  const out = await convert(floatToUShortGadget, floatImage(ImageType.MAGNITUDE, [2.5, 32767.6, 0.49, 3.5, 4.5, 1e6, 0, 100.5]), CONFIG);
  assert.ok(out.data instanceof Uint16Array);
  assert.deepEqual([...out.data], [3, 32767, 0, 4, 5, 32767, 0, 101]);
  assert.equal(out.head.data_type, DataType.USHORT);
  assert.equal(out.head.image_type, ImageType.MAGNITUDE);
  assert.equal(out.head.image_series_index, 3);
  assert.deepEqual(out.meta.get('k'), ['v']);
});

test('FloatToUShortGadget takes |v| of magnitude images and clamps negative real values to 0', async () => {
  const magnitude = await convert(floatToUShortGadget, floatImage(ImageType.MAGNITUDE, [-2.5, -7]), CONFIG);
  assert.deepEqual([...magnitude.data], [3, 7]);
  const real = await convert(floatToUShortGadget, floatImage(ImageType.REAL, [-3, -0.4, 2.5, 32767.6]), CONFIG);
  assert.deepEqual([...real.data], [0, 0, 3, 32767]);
});

test('FloatToUShortGadget class defaults (max 4095, offset 2048) map real/imaginary by v + offset and phase by v·offset/π + offset', async () => {
  const real = await convert(floatToUShortGadget, floatImage(ImageType.REAL, [-100.4, 0, 3000, -3000, 1.5]));
  assert.deepEqual([...real.data], [1948, 2048, 4095, 0, 2050]);
  const imag = await convert(floatToUShortGadget, floatImage(ImageType.IMAG, [-2048.5, 2046.5]));
  assert.deepEqual([...imag.data], [0, 4095]);
  const phase = await convert(floatToUShortGadget, floatImage(ImageType.PHASE, [0, Math.PI, -Math.PI, Math.PI / 2, -Math.PI / 2]));
  assert.deepEqual([...phase.data], [2048, 4095, 0, 3072, 1024]);
  const magnitude = await convert(floatToUShortGadget, floatImage(ImageType.MAGNITUDE, [5000, 12.5]));
  assert.deepEqual([...magnitude.data], [4095, 13], 'magnitudes ignore the offset');
});

test('FloatToShort/UInt/Int gadgets produce their own pixel types and honour a negative minimum', async () => {
  const short = await convert(floatToShortGadget, floatImage(ImageType.REAL, [-2.5, -500, 7.5]), { min_intensity: '-100', intensity_offset: '0' });
  assert.ok(short.data instanceof Int16Array);
  assert.equal(short.head.data_type, DataType.SHORT);
  assert.deepEqual([...short.data], [-3, -100, 8]);
  const uint = await convert(floatToUIntGadget, floatImage(ImageType.MAGNITUDE, [70000.5]), { max_intensity: '100000' });
  assert.ok(uint.data instanceof Uint32Array);
  assert.equal(uint.head.data_type, DataType.UINT);
  assert.deepEqual([...uint.data], [70001]);
  const int = await convert(floatToIntGadget, floatImage(ImageType.REAL, [-70000.5]), { min_intensity: '-100000', intensity_offset: '0' });
  assert.ok(int.data instanceof Int32Array);
  assert.equal(int.head.data_type, DataType.INT);
  assert.deepEqual([...int.data], [-70001]);
});

test('FloatToUShortGadget passes complex images through', async () => {
  const complex = makeImage({ matrix_size: [1, 1, 1], data_type: DataType.CXFLOAT }, Float32Array.of(1, 2));
  const out = await runGadget(floatToUShortGadget, [complex]);
  assert.equal(out[0], complex);
});

test('floatToFixedPoint natively gives the bits of the TypeScript loops: every mode and integer type, halves, clamps, NaN, ±∞, wrap-around', { skip: kernelBackend() === 'native' ? false : 'native kernels not in use' }, () => {
  const special = [0, -0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, 4094.5, 4095.4, 4095.5, 65535.5, 65536, 70000.5, -70000.5, 2 ** 31 + 0.5, 3e9, -3e9, 1e20, -1e20, 3.4e38, NaN, Infinity, -Infinity];
  const src = Float32Array.from([...special, ...seededMagnitudes(5000, 17, -20, 43)]);
  const types = [(n: number) => new Uint16Array(n), (n: number) => new Int16Array(n), (n: number) => new Uint32Array(n), (n: number) => new Int32Array(n)];
  const ranges: [number, number, number][] = [[0, 4095, 2048], [-32768, 32767, 0], [-1e12, 1e12, 0.25], [0, 2 ** 40, 7.5], [5, 1, 0], [-Infinity, Infinity, 1]];
  for (const imageType of [ImageType.MAGNITUDE, ImageType.REAL, ImageType.IMAG, ImageType.PHASE]) {
    for (const make of types) {
      for (const [min, max, offset] of ranges) {
        const fast = floatToFixedPoint(src, imageType, min, max, offset, make);
        const slow = fixedPointInto(src, make(src.length), fixedPointMode(imageType), min, max, offset);
        assert.equal(fast.constructor, slow.constructor);
        for (let i = 0; i < src.length; i++) {
          if (fast[i] !== slow[i]) assert.fail(`type ${imageType}, ${fast.constructor.name}, [${min}, ${max}] + ${offset}: pixel ${src[i]} → ${fast[i]} natively, ${slow[i]} in TypeScript`);
        }
      }
    }
  }
});
