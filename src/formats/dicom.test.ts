import test from 'node:test';
import assert from 'node:assert/strict';
import { DataType, emptyImageHeader, type Image } from '../ismrmrd/types.js';
import { parseIsmrmrdHeader, type IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { decimalString, derivedUid, imageToDicom, readDicom, storedPixels } from './dicom.js';

const HEADER = `<?xml version="1.0"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <subjectInformation><patientName>Doe^Jane</patientName><patientWeight_kg>61.5</patientWeight_kg><patientID>PID-1</patientID><patientBirthdate>1970-01-02</patientBirthdate><patientGender>F</patientGender></subjectInformation>
  <studyInformation><studyDate>2024-05-06</studyDate><studyTime>07:08:09</studyTime><accessionNumber>42</accessionNumber><studyDescription>knee</studyDescription><studyInstanceUID>1.2.3.4</studyInstanceUID></studyInformation>
  <measurementInformation><measurementID>LLM_1</measurementID><patientPosition>HFS</patientPosition><initialSeriesNumber>5</initialSeriesNumber><protocolName>gre</protocolName></measurementInformation>
  <acquisitionSystemInformation><systemVendor>ACME</systemVendor><systemFieldStrength_T>2.89</systemFieldStrength_T></acquisitionSystemInformation>
  <experimentalConditions><H1resonanceFrequency_Hz>123200000</H1resonanceFrequency_Hz></experimentalConditions>
  <encoding><encodedSpace><matrixSize><x>8</x><y>4</y><z>1</z></matrixSize><fieldOfView_mm><x>80</x><y>40</y><z>5</z></fieldOfView_mm></encodedSpace>
  <reconSpace><matrixSize><x>8</x><y>4</y><z>1</z></matrixSize><fieldOfView_mm><x>80</x><y>40</y><z>5</z></fieldOfView_mm></reconSpace>
  <encodingLimits/><trajectory>cartesian</trajectory></encoding>
  <sequenceParameters><TR>5.5</TR><TE>2.1</TE><flipAngle_deg>15</flipAngle_deg></sequenceParameters>
</ismrmrdHeader>`;

function image(dataType: number, data: Float32Array | Uint16Array | Int16Array, matrix: number[] = [8, 4, 1]): Image {
  const head = {
    ...emptyImageHeader(), data_type: dataType, matrix_size: matrix, field_of_view: [80, 40, 5] as [number, number, number],
    position: [10, 20, 30] as [number, number, number], read_dir: [0, 1, 0] as [number, number, number],
    phase_dir: [-1, 0, 0] as [number, number, number], slice_dir: [0, 0, 1] as [number, number, number], image_series_index: 2, image_index: 3,
  };
  return { kind: 'image', head, meta: new Map(), data };
}

const header: IsmrmrdHeader = parseIsmrmrdHeader(HEADER);

test('DICOM export: MR Image Storage with geometry, header fields and stable UIDs', () => {
  const data = Float32Array.from({ length: 32 }, (_, i) => i * 0.37 - 3);
  const [inst] = imageToDicom(image(DataType.FLOAT, data), { header, uidSeed: 'session-1' });
  assert.ok(inst);
  const { fields, values } = readDicom(inst.bytes);
  assert.equal(fields['SOPClassUID'], '1.2.840.10008.5.1.4.1.1.4');
  assert.equal(fields['Modality'], 'MR');
  assert.deepEqual([fields['Rows'], fields['Columns']], [4, 8]);
  assert.deepEqual(fields['PixelSpacing'], [10, 10]);
  assert.deepEqual(fields['ImageOrientationPatient'], [0, 1, 0, -1, 0, 0]);
  // corner = position − 4·Δx·read − 2·Δy·phase = (10,20,30) − 40·(0,1,0) − 20·(−1,0,0)
  assert.deepEqual(fields['ImagePositionPatient'], [30, -20, 30]);
  assert.equal(fields['SliceThickness'], 5);
  assert.deepEqual((fields['PatientName'] as { Alphabetic: string }[])[0]?.Alphabetic, 'Doe^Jane');
  assert.equal(fields['PatientID'], 'PID-1');
  assert.equal(fields['PatientBirthDate'], '19700102');
  assert.equal(fields['StudyDate'], '20240506');
  assert.equal(fields['StudyTime'], '070809');
  assert.equal(fields['StudyInstanceUID'], '1.2.3.4');
  assert.equal(fields['SeriesNumber'], 7);
  assert.equal(fields['InstanceNumber'], 3);
  assert.equal(fields['MagneticFieldStrength'], 2.89);
  assert.equal(fields['RepetitionTime'], 5.5);
  assert.equal(fields['FlipAngle'], 15);
  let worst = 0;
  for (let i = 0; i < 32; i++) worst = Math.max(worst, Math.abs((values[i] as number) - (data[i] as number)));
  assert.ok(worst <= inst.rescale.slope / 2 + 1e-12, `${worst}`);
  const [again] = imageToDicom(image(DataType.FLOAT, data), { header, uidSeed: 'session-1' });
  const [other] = imageToDicom(image(DataType.FLOAT, data), { header, uidSeed: 'session-2' });
  assert.equal(again?.sopInstanceUid, inst.sopInstanceUid);
  assert.equal(again?.seriesInstanceUid, inst.seriesInstanceUid);
  assert.notEqual(other?.seriesInstanceUid, inst.seriesInstanceUid);
  assert.match(inst.sopInstanceUid, /^2\.25\.\d{1,39}$/);
});

test('DICOM export: de-identification replaces patient fields and header UIDs', () => {
  const [inst] = imageToDicom(image(DataType.USHORT, new Uint16Array(32).fill(7)), { header, uidSeed: 's', deidentify: true });
  const text = Buffer.from(inst?.bytes ?? []).toString('latin1');
  for (const secret of ['Doe', 'PID-1', '19700102', '1.2.3.4']) assert.ok(!text.includes(secret), secret);
  const { fields } = readDicom(inst?.bytes as Uint8Array);
  assert.equal(fields['PatientIdentityRemoved'], 'YES');
  assert.equal(fields['StudyDate'], '20240506', 'study dates are retained');
});

test('DICOM export: integer pixels are stored as they are; 3D images give one instance per plane', () => {
  const signed = Int16Array.from({ length: 64 }, (_, i) => i - 30);
  const instances = imageToDicom(image(DataType.SHORT, signed, [8, 4, 2]), { uidSeed: 's' });
  assert.equal(instances.length, 2);
  const first = readDicom(instances[0]?.bytes as Uint8Array);
  assert.equal(first.fields['PixelRepresentation'], 1, 'negative values: signed pixels');
  assert.deepEqual(Array.from(first.values), Array.from(signed.slice(0, 32)));
  const second = readDicom(instances[1]?.bytes as Uint8Array);
  assert.deepEqual(Array.from(second.values), Array.from(signed.slice(32)));
  assert.deepEqual(first.fields['ImagePositionPatient'], [30, -20, 27.5]);
  assert.deepEqual(second.fields['ImagePositionPatient'], [30, -20, 30], 'plane ⌊nz/2⌋ holds the position');
  assert.notEqual(instances[0]?.sopInstanceUid, instances[1]?.sopInstanceUid);
});

test('DICOM helpers: decimal strings fit 16 characters; stored pixels; UIDs', () => {
  for (const x of [Math.PI, -1e-20, 123456789.123456, 1 / 3, 0, -0]) {
    const s = decimalString(x);
    assert.ok(s.length <= 16, s);
    assert.ok(Math.abs(Number(s) - x) <= Math.abs(x) * 1e-6, s);
  }
  assert.deepEqual(storedPixels(Float32Array.of(1, 2, 65535)).slope, 1);
  const r = storedPixels(Float32Array.of(-1.5, 0, 2.25));
  assert.equal(r.signed, false);
  assert.equal(r.pixels[0], 0);
  assert.equal(r.pixels[2], 65535);
  assert.equal(derivedUid('a', 1), derivedUid('a', 1));
  assert.notEqual(derivedUid('a', 1), derivedUid('a', 2));
});
