import test from 'node:test';
import assert from 'node:assert/strict';
import { readDicom } from '../formats/dicom.js';
import type { DicomMessage, Message } from '../ismrmrd/messages.js';
import { DataType, emptyImageHeader, type Image, type ImageHeader } from '../ismrmrd/types.js';
import { dicomFinishGadget } from './dicom-finish.js';
import { CollectingOutput, planGadgetStep, runGadget, testContext } from './testing.js';

function image(dataType: number, index: number): Image {
  const complex = dataType === DataType.CXFLOAT;
  const head: ImageHeader = {
    ...emptyImageHeader(), data_type: dataType, matrix_size: [4, 4, 1], field_of_view: [40, 40, 3], image_index: index,
    read_dir: [1, 0, 0], phase_dir: [0, 1, 0], slice_dir: [0, 0, 1],
  };
  return { kind: 'image', head, meta: new Map([['GADGETRON_ImageNumber', [String(index)]]]), data: new Float32Array(complex ? 32 : 16).fill(index) };
}

test('DicomFinishGadget turns images into DICOM messages (one per plane) with the image kept', async () => {
  const out = await runGadget(dicomFinishGadget, [image(DataType.FLOAT, 1), image(DataType.FLOAT, 2), { kind: 'text', text: 'pass' }]);
  const dicoms = out.filter((m): m is DicomMessage => m.kind === 'dicom');
  assert.equal(dicoms.length, 2);
  assert.equal(out.filter((m: Message) => m.kind === 'text').length, 1, 'other messages pass through');
  const [a, b] = dicoms as [DicomMessage, DicomMessage];
  assert.equal(a.filename, 'series_0000_image_000001');
  assert.equal(a.meta.get('GADGETRON_ImageNumber')?.[0], '1');
  assert.equal(a.image?.head.image_index, 1);
  const fa = readDicom(a.bytes).fields;
  const fb = readDicom(b.bytes).fields;
  assert.equal(fa['SeriesInstanceUID'], fb['SeriesInstanceUID'], 'one series per session and series index');
  assert.notEqual(fa['SOPInstanceUID'], fb['SOPInstanceUID']);
  assert.equal(fa['Modality'], 'MR');
});

test('DicomFinishGadget exports complex images as magnitude with a warning', async () => {
  const warnings: string[] = [];
  const output = new CollectingOutput();
  const step = planGadgetStep(dicomFinishGadget);
  async function* input(): AsyncGenerator<Message> {
    yield image(DataType.CXFLOAT, 1);
    yield image(DataType.CXFLOAT, 2);
  }
  await dicomFinishGadget.run(input(), output, step.properties, { ...testContext(), notify: (t) => warnings.push(t) });
  assert.deepEqual(warnings, ['Complex images are exported to DICOM as their magnitude']);
  const [d] = output.messages.filter((m): m is DicomMessage => m.kind === 'dicom');
  assert.ok(d);
  assert.deepEqual(readDicom(d.bytes).fields['ImageType'], ['DERIVED', 'PRIMARY', 'M']);
});
