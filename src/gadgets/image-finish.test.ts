import assert from 'node:assert/strict';
import test from 'node:test';
import { DataType } from '../ismrmrd/types.js';
import { imageFinishGadget } from './image-finish.js';
import { makeImage, makeWaveform, runGadget } from './testing.js';

test('ImageFinishGadget drops text messages and forwards everything else', async () => {
  const image = makeImage({ matrix_size: [1, 1, 1], data_type: DataType.FLOAT });
  const waveform = makeWaveform(2);
  const out = await runGadget(imageFinishGadget, [{ kind: 'text', text: 'log me' }, image, waveform, { kind: 'text', text: 'again' }]);
  assert.equal(out.length, 2);
  assert.ok(out.includes(image) && out.includes(waveform));
});
