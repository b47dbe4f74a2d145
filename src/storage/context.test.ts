import test from 'node:test';
import assert from 'node:assert/strict';
import { parseIsmrmrdHeader } from '../ismrmrd/xml-header.js';
import {
  measurementReadTags, measurementWriteTags, noiseDependencyId, storageContextFromHeader, storageContextFromMeasurementId,
} from './context.js';

function header(parts: { patient?: string; device?: string; study?: string; measurement?: string; deps?: [string, string][] }): string {
  const deps = (parts.deps ?? []).map(([t, id]) => `<measurementDependency><dependencyType>${t}</dependencyType><measurementID>${id}</measurementID></measurementDependency>`).join('');
  return `<?xml version="1.0"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  ${parts.patient ? `<subjectInformation><patientID>${parts.patient}</patientID></subjectInformation>` : ''}
  ${parts.study ? `<studyInformation><studyID>${parts.study}</studyID></studyInformation>` : ''}
  ${parts.measurement !== undefined || deps ? `<measurementInformation>${parts.measurement ? `<measurementID>${parts.measurement}</measurementID>` : ''}<patientPosition>HFS</patientPosition>${deps}</measurementInformation>` : ''}
  ${parts.device ? `<acquisitionSystemInformation><deviceID>${parts.device}</deviceID></acquisitionSystemInformation>` : ''}
  <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>
  <encoding>
    <encodedSpace><matrixSize><x>8</x><y>8</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
    <reconSpace><matrixSize><x>8</x><y>8</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
    <encodingLimits/>
    <trajectory>cartesian</trajectory>
  </encoding>
</ismrmrdHeader>`;
}

test('storage context comes from patientID, deviceID and studyID', () => {
  const ctx = storageContextFromHeader(parseIsmrmrdHeader(header({ patient: 'P', device: 'D', study: 'S', measurement: 'M' })));
  assert.deepEqual(ctx, { subject: 'P', device: 'D', session: 'S', measurementId: 'M' });
  assert.deepEqual(measurementWriteTags(ctx, 'noise_covariance'), {
    subject: 'P', device: 'D', session: 'S', name: 'noise_covariance', custom: { measurement: ['M'] },
  });
});

test('missing subject, device or session are parsed from a DEVICE_SUBJECT_SESSION_MEAS measurement id', () => {
  const ctx = storageContextFromHeader(parseIsmrmrdHeader(header({ device: 'scanner', measurement: '45160_88093439_88093444_513' })));
  assert.deepEqual(ctx, { subject: '88093439', device: 'scanner', session: '88093444', measurementId: '45160_88093439_88093444_513' });
  assert.deepEqual(storageContextFromMeasurementId('a_b_c'), { measurementId: 'a_b_c' });
  assert.deepEqual(storageContextFromMeasurementId('1_2_3_4'), { subject: '2', device: '1', session: '3', measurementId: '1_2_3_4' });
});

test('reading a dependency uses the current context, or the dependency id when there is no subject', () => {
  const withSubject = storageContextFromHeader(parseIsmrmrdHeader(header({ patient: 'P', measurement: 'X' })));
  assert.deepEqual(measurementReadTags(withSubject, '1_2_3_4', 'noise_covariance'), {
    subject: 'P', name: 'noise_covariance', custom: { measurement: ['1_2_3_4'] },
  });
  assert.deepEqual(measurementReadTags({}, '1_2_3_4', 'noise_covariance'), {
    subject: '2', device: '1', session: '3', name: 'noise_covariance', custom: { measurement: ['1_2_3_4'] },
  });
  assert.throws(() => measurementReadTags({}, 'plain', 'noise_covariance'), /subject/);
  assert.throws(() => measurementWriteTags({ subject: 'P' }, 'noise_covariance'), /measurementID/);
  assert.throws(() => measurementWriteTags({ measurementId: 'M' }, 'noise_covariance'), /subject/);
});

test('the noise dependency is the first with dependencyType "noise" in any case', () => {
  const h = parseIsmrmrdHeader(header({ measurement: 'M', deps: [['SenMap', 'a'], ['NOISE', 'b'], ['Noise', 'c']] }));
  assert.equal(noiseDependencyId(h), 'b');
  assert.equal(noiseDependencyId(parseIsmrmrdHeader(header({ measurement: 'M' }))), undefined);
  assert.equal(noiseDependencyId(undefined), undefined);
});
