import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CALIBRATION_MODES, ENCODING_LIMIT_NAMES, INTERLEAVING_DIMENSIONS, PATIENT_POSITIONS, TRAJECTORY_TYPES, WAVEFORM_TYPES,
  measurementDependencies, parseIsmrmrdHeader, serializeIsmrmrdHeader,
} from './xml-header.js';
import type { EncodingLimits, IsmrmrdHeader, Limit, UserParameters } from './xml-header.js';
import { GENERATOR_HEADER, RICH_HEADER, RICH_HEADER_18 } from './xml-header.fixtures.js';

const ROOT = '<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">';
const ENCODING = '<encoding><encodedSpace><matrixSize><x>4</x><y>4</y><z>1</z></matrixSize>'
  + '<fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>'
  + '<reconSpace><matrixSize><x>4</x><y>4</y><z>1</z></matrixSize>'
  + '<fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>'
  + '<encodingLimits/><trajectory>cartesian</trajectory></encoding>';
const CONDITIONS = '<experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>';

function minimal(body: string): string {
  return `${ROOT}${body}</ismrmrdHeader>`;
}

function roundTrip(xml: string): void {
  const first = parseIsmrmrdHeader(xml);
  const again = parseIsmrmrdHeader(serializeIsmrmrdHeader(first));
  assert.deepEqual(again, first);
}

test('xml-header serializes the generator header byte for byte', () => {
  assert.equal(GENERATOR_HEADER.length, 1579);
  const h = parseIsmrmrdHeader(GENERATOR_HEADER);
  assert.equal(serializeIsmrmrdHeader(h), GENERATOR_HEADER);
  roundTrip(GENERATOR_HEADER);
  assert.equal(h.version, 8);
  assert.deepEqual(h.acquisitionSystemInformation, {
    receiverChannels: 8, institutionName: 'ISMRM Synthetic Imaging Lab', coilLabel: [],
  });
  assert.equal(h.experimentalConditions.H1resonanceFrequency_Hz, 63500000);
  assert.equal(h.encoding.length, 1);
  const e = h.encoding[0]!;
  assert.deepEqual(e.encodedSpace, { matrixSize: { x: 512, y: 256, z: 1 }, fieldOfView_mm: { x: 600, y: 300, z: 6 } });
  assert.deepEqual(e.reconSpace, { matrixSize: { x: 256, y: 256, z: 1 }, fieldOfView_mm: { x: 300, y: 300, z: 6 } });
  assert.deepEqual(e.encodingLimits, {
    kspace_encoding_step_1: { minimum: 0, maximum: 255, center: 128 },
    repetition: { minimum: 0, maximum: 1, center: 0 },
  });
  assert.equal(e.encodingLimits.kspace_encoding_step_1?.maximum, 255);
  assert.equal(e.trajectory, 'cartesian');
  assert.deepEqual(e.parallelImaging, {
    accelerationFactor: { kspace_encoding_step_1: 2, kspace_encoding_step_2: 1 }, calibrationMode: 'interleaved',
  });
  assert.deepEqual(h.waveformInformation, []);
  assert.equal(h.measurementInformation, undefined);
  assert.equal(h.extra, undefined);
});

test('xml-header matches a header freshly written by ismrmrd_generate_cartesian_shepp_logan', (t) => {
  const tools = ['ismrmrd_generate_cartesian_shepp_logan', 'h5dump'];
  if (tools.some((tool) => spawnSync('which', [tool]).status !== 0)) {
    t.skip('ISMRMRD tools or h5dump not installed (the embedded fixture covers this)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gantry-xml-'));
  try {
    const file = join(dir, 'sl.h5');
    const gen = spawnSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', file, '-C', '-a', '2', '-w', '24']);
    assert.equal(gen.status, 0, String(gen.stderr));
    const dump = spawnSync('h5dump', ['-y', '-w', '0', '-d', '/dataset/xml', file], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    // h5dump prints the string between quotes, continuation lines indented by 11 spaces.
    const start = dump.stdout.indexOf('"<?xml');
    const end = dump.stdout.indexOf('</ismrmrdHeader>') + '</ismrmrdHeader>'.length;
    const xml = `${dump.stdout.slice(start + 1, end).replace(/\n {11}/g, '\n')}\n`;
    assert.equal(xml, GENERATOR_HEADER);
    assert.equal(serializeIsmrmrdHeader(parseIsmrmrdHeader(xml)), xml);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xml-header writes a header with every section exactly as ISMRMRD 1.8 does', () => {
  const h = parseIsmrmrdHeader(RICH_HEADER);
  assert.equal(serializeIsmrmrdHeader(h), RICH_HEADER_18);
  assert.equal(serializeIsmrmrdHeader(parseIsmrmrdHeader(RICH_HEADER_18)), RICH_HEADER_18);
  roundTrip(RICH_HEADER);
  assert.deepEqual(parseIsmrmrdHeader(RICH_HEADER_18), h);
});

test('xml-header reads every section into typed values', () => {
  const h = parseIsmrmrdHeader(RICH_HEADER);
  assert.deepEqual(h.subjectInformation, {
    patientName: 'Doe^Jane & co', patientWeight_kg: 70.5, patientID: 'P123', patientBirthdate: '1980-01-02', patientGender: 'F',
  });
  assert.deepEqual(h.studyInformation, {
    studyDate: '2024-03-04', studyTime: '12:34:56', studyID: 'S1', accessionNumber: 987654321,
    referringPhysicianName: 'Dr Who', studyDescription: 'brain', studyInstanceUID: '1.2.3.4',
  });
  assert.deepEqual(h.measurementInformation, {
    measurementID: '42_123_456_1', seriesDate: '2024-03-04', seriesTime: '12:35:00', patientPosition: 'HFS',
    relativeTablePosition: { x: 0.5, y: -1.25, z: 100 }, initialSeriesNumber: 3, protocolName: 'gre',
    seriesDescription: 'gre_series',
    measurementDependency: [
      { dependencyType: 'Noise', measurementID: '42_123_456_0' },
      { dependencyType: 'SenMap', measurementID: '42_123_456_2' },
    ],
    seriesInstanceUIDRoot: '1.2.840', frameOfReferenceUID: '1.2.840.9',
    referencedImageSequence: { referencedSOPInstanceUID: ['1.1', '1.2'] },
  });
  assert.deepEqual(h.acquisitionSystemInformation, {
    systemVendor: 'ACME', systemModel: 'Magnet 3000', systemFieldStrength_T: 2.89362, relativeReceiverNoiseBandwidth: 0.793,
    receiverChannels: 2, coilLabel: [{ coilNumber: 1, coilName: 'H1' }, { coilNumber: 2, coilName: 'H2' }],
    institutionName: 'Lab', stationName: 'AWP1', deviceID: 'dev-7',
  });
  assert.deepEqual(h.experimentalConditions, { H1resonanceFrequency_Hz: 123251815 });
  const [e0, e1] = h.encoding;
  assert.ok(e0 && e1);
  assert.deepEqual(Object.keys(e0.encodingLimits), [...ENCODING_LIMIT_NAMES]);
  assert.deepEqual(e0.encodingLimits.segment, { minimum: 0, maximum: 7, center: 0 });
  assert.deepEqual(e0.encodingLimits.kspace_encoding_step_0, { minimum: 0, maximum: 255, center: 128 });
  assert.equal(e0.trajectory, 'spiral');
  assert.deepEqual(e0.trajectoryDescription, {
    identifier: 'HargreavesVDS2000', userParameterLong: [{ name: 'interleaves', value: 16 }],
    userParameterDouble: [{ name: 'fov_coefficient', value: 0.25 }], comment: 'variable density',
  });
  assert.deepEqual(e0.parallelImaging, {
    accelerationFactor: { kspace_encoding_step_1: 2, kspace_encoding_step_2: 1 },
    calibrationMode: 'embedded', interleavingDimension: 'phase',
  });
  assert.equal(e0.echoTrainLength, 4);
  assert.deepEqual(e1.encodingLimits, {});
  assert.deepEqual(e1.encodedSpace.fieldOfView_mm, { x: 300.5, y: 300.25, z: 6 });
  assert.deepEqual(h.sequenceParameters, {
    TR: [5, 6.5], TE: [2.5], TI: [300], flipAngle_deg: [15], echo_spacing: [0.75], sequence_type: 'Flash',
  });
  assert.deepEqual(h.userParameters, {
    userParameterLong: [{ name: 'EmbeddedRefLinesE1', value: 24 }, { name: 'neg', value: -3 }],
    userParameterDouble: [{ name: 'MaxwellCoefficient_0', value: 0.5 }],
    userParameterString: [{ name: 'note', value: 'hello <world>' }],
    userParameterBase64: [{ name: 'blob', value: 'SGVsbG8=' }],
  });
  assert.deepEqual(h.waveformInformation, [
    {
      waveformName: 'ECG1', waveformType: 'ecg',
      userParameters: { userParameterLong: [{ name: 'channels', value: 4 }], userParameterDouble: [], userParameterString: [], userParameterBase64: [] },
    },
    { waveformName: 'resp', waveformType: 'respiratory' },
  ]);
});

test('xml-header measurementDependencies lists dependency type and measurement ID', () => {
  assert.deepEqual(measurementDependencies(parseIsmrmrdHeader(RICH_HEADER)), [
    { dependencyType: 'Noise', measurementID: '42_123_456_0' },
    { dependencyType: 'SenMap', measurementID: '42_123_456_2' },
  ]);
  assert.deepEqual(measurementDependencies(parseIsmrmrdHeader(GENERATOR_HEADER)), []);
});

test('xml-header tolerates a trailing NUL and no XML declaration', () => {
  assert.deepEqual(parseIsmrmrdHeader(`${GENERATOR_HEADER}\0`), parseIsmrmrdHeader(GENERATOR_HEADER));
  const h = parseIsmrmrdHeader(minimal(CONDITIONS + ENCODING));
  assert.equal(h.encoding[0]?.encodedSpace.matrixSize.x, 4);
  assert.equal(h.version, undefined);
});

test('xml-header keeps unknown elements in place and writes them at the end of their parent', () => {
  const xml = `${ROOT}
  <version>15</version>
  <subjectInformation><patientName>A</patientName><patientHeight_m>1.8</patientHeight_m></subjectInformation>
  <futureSection kind="x &amp; y"><a>1</a><b/></futureSection>
  ${CONDITIONS}
  <encoding>
    <encodedSpace><matrixSize><x>4</x><y>4</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
    <reconSpace><matrixSize><x>4</x><y>4</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
    <encodingLimits>
      <user_0><minimum>0</minimum><maximum>3</maximum><center>1</center></user_0>
      <slice><minimum>0</minimum><maximum>1</maximum><center>0</center><note>n</note></slice>
    </encodingLimits>
    <trajectory>cartesian</trajectory>
    <multiband><spacing><dZ>1.5</dZ></spacing><deltaKz>0.1</deltaKz><multiband_factor>2</multiband_factor><calibration>separable2D</calibration><calibration_encoding>0</calibration_encoding></multiband>
    <trajectory>radial</trajectory>
  </encoding>
  <sequenceParameters><TR>5</TR><diffusion><gradientDirection><rl>1</rl></gradientDirection><bvalue>1000</bvalue></diffusion></sequenceParameters>
</ismrmrdHeader>`;
  const h = parseIsmrmrdHeader(xml);
  assert.equal(h.version, 15);
  assert.deepEqual(h.subjectInformation, {
    patientName: 'A',
    extra: [{ type: 'element', name: 'patientHeight_m', attributes: {}, children: [{ type: 'text', text: '1.8' }], line: 0, column: 0 }],
  });
  assert.equal(h.extra?.[0]?.name, 'futureSection');
  assert.equal(h.extra?.[0]?.attributes.kind, 'x & y');
  const e = h.encoding[0]!;
  assert.equal(e.trajectory, 'cartesian');
  assert.deepEqual(e.extra?.map((x) => x.name), ['multiband', 'trajectory']);
  assert.deepEqual(e.encodingLimits.extra?.map((x) => x.name), ['user_0']);
  assert.deepEqual(e.encodingLimits.slice?.extra?.map((x) => x.name), ['note']);
  assert.deepEqual(h.sequenceParameters?.extra?.map((x) => x.name), ['diffusion']);

  const out = serializeIsmrmrdHeader(h);
  assert.ok(out.includes('\t<subjectInformation>\n\t\t<patientName>A</patientName>\n\t\t<patientHeight_m>1.8</patientHeight_m>\n\t</subjectInformation>\n'));
  assert.ok(out.includes('\t\t<trajectory>cartesian</trajectory>\n\t\t<multiband>\n\t\t\t<spacing>\n\t\t\t\t<dZ>1.5</dZ>\n\t\t\t</spacing>\n'));
  assert.ok(out.includes('\t\t\t<calibration_encoding>0</calibration_encoding>\n\t\t</multiband>\n\t\t<trajectory>radial</trajectory>\n\t</encoding>\n'));
  assert.ok(out.includes('\t\t\t<slice>\n\t\t\t\t<minimum>0</minimum>\n\t\t\t\t<maximum>1</maximum>\n\t\t\t\t<center>0</center>\n\t\t\t\t<note>n</note>\n\t\t\t</slice>\n\t\t\t<user_0>\n'));
  assert.ok(out.includes('\t\t<TR>5.000000</TR>\n\t\t<diffusion>\n\t\t\t<gradientDirection>\n\t\t\t\t<rl>1</rl>\n'));
  assert.ok(out.endsWith('\t<futureSection kind="x &amp; y">\n\t\t<a>1</a>\n\t\t<b />\n\t</futureSection>\n</ismrmrdHeader>\n'));
  roundTrip(xml);
  assert.equal(serializeIsmrmrdHeader(parseIsmrmrdHeader(out)), out);
});

test('xml-header keeps empty optional sections and empty strings', () => {
  const xml = minimal(`<subjectInformation/><measurementInformation><patientPosition>FFS</patientPosition><protocolName></protocolName>
    <referencedImageSequence/></measurementInformation>${CONDITIONS}${ENCODING}<sequenceParameters/><userParameters/>`);
  const h = parseIsmrmrdHeader(xml);
  assert.deepEqual(h.subjectInformation, {});
  assert.deepEqual(h.measurementInformation, {
    patientPosition: 'FFS', protocolName: '', measurementDependency: [], referencedImageSequence: { referencedSOPInstanceUID: [] },
  });
  const out = serializeIsmrmrdHeader(h);
  assert.ok(out.includes('\t<subjectInformation />\n'));
  assert.ok(out.includes('\t\t<protocolName></protocolName>\n'));
  assert.ok(out.includes('\t\t<referencedImageSequence />\n'));
  assert.ok(out.includes('\t<sequenceParameters />\n\t<userParameters />\n</ismrmrdHeader>\n'));
  roundTrip(xml);
});

test('xml-header defaults missing limit fields to 0 as the schema does', () => {
  const xml = minimal(CONDITIONS + ENCODING.replace('<encodingLimits/>', '<encodingLimits><slice><maximum>3</maximum></slice></encodingLimits>'));
  const limits: EncodingLimits = parseIsmrmrdHeader(xml).encoding[0]!.encodingLimits;
  const slice: Limit | undefined = limits.slice;
  assert.deepEqual(slice, { minimum: 0, maximum: 3, center: 0 });
});

test('xml-header prints floats like %f and never loses a value', () => {
  const h = parseIsmrmrdHeader(GENERATOR_HEADER);
  const fov = h.encoding[0]!.encodedSpace.fieldOfView_mm;
  const cases: [number, string][] = [
    [0.25, '0.250000'],
    [0.0078125, '0.0078125'], // %f would print 0.007812 (glibc, half to even) and lose the value
    [-0.0078125, '-0.0078125'],
    [2.89362, '2.893620'], // float field: single-precision value printed with 6 decimals
    [1e30, '1e+30'], // 1.8 prints 1000000015047466219876688855040.000000 (float) – keep the value instead
    [0.1234567, '0.1234567'],
    [-1e-9, '-1e-9'],
    [-0, '-0.000000'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [123456789, '123456789'], // float32 would print 123456792.000000
  ];
  for (const [value, text] of cases) {
    fov.x = value;
    const out = serializeIsmrmrdHeader(h);
    assert.ok(out.includes(`\t\t\t\t<x>${text}</x>\n`), `${value} → ${text}`);
    assert.deepEqual(parseIsmrmrdHeader(out).encoding[0]!.encodedSpace.fieldOfView_mm.x, value);
  }
  fov.x = 16777216;
  assert.ok(serializeIsmrmrdHeader(h).includes('<x>16777216.000000</x>'));
});

test('xml-header writes double user parameters without single-precision rounding', () => {
  const up: UserParameters = {
    userParameterLong: [{ name: 'big', value: Number.MAX_SAFE_INTEGER }],
    userParameterDouble: [{ name: 'pi', value: Math.PI }, { name: 'half', value: 0.5 }, { name: 'd', value: 0.1 }],
    userParameterString: [],
    userParameterBase64: [],
  };
  const h: IsmrmrdHeader = { ...parseIsmrmrdHeader(GENERATOR_HEADER), userParameters: up };
  const out = serializeIsmrmrdHeader(h);
  assert.ok(out.includes('<value>9007199254740991</value>'));
  assert.ok(out.includes(`<value>${String(Math.PI)}</value>`));
  assert.ok(out.includes('<value>0.500000</value>'));
  assert.ok(out.includes('<value>0.100000</value>'));
  assert.deepEqual(parseIsmrmrdHeader(out), h);
});

test('xml-header accepts xsd number spellings and whitespace around numbers', () => {
  const xml = minimal(`<version> 8 </version>${CONDITIONS}${ENCODING.replace('<x>1</x>', '<x>1E2</x>').replace('<y>1</y>', '<y>+.5</y>')
    .replace('<z>1</z></fieldOfView_mm>', '<z>INF</z></fieldOfView_mm>')}`);
  const h = parseIsmrmrdHeader(xml);
  assert.equal(h.version, 8);
  assert.deepEqual(h.encoding[0]!.encodedSpace.fieldOfView_mm, { x: 100, y: 0.5, z: Infinity });
});

function errorOf(xml: string): string {
  try {
    parseIsmrmrdHeader(xml);
  } catch (err) {
    assert.ok(err instanceof Error);
    return err.message;
  }
  assert.fail('expected the header to be refused');
}

test('xml-header names the element and line of a missing required element', () => {
  assert.equal(errorOf(minimal(ENCODING)), 'Cannot parse ISMRMRD header: ismrmrdHeader has no experimentalConditions (line 1)');
  assert.equal(errorOf(`<?xml version="1.0"?>\n${minimal(CONDITIONS)}`), 'Cannot parse ISMRMRD header: ismrmrdHeader has no encoding (line 2)');
  assert.equal(
    errorOf(minimal(`<experimentalConditions/>${ENCODING}`)),
    'Cannot parse ISMRMRD header: experimentalConditions has no H1resonanceFrequency_Hz (line 1)',
  );
  const lines = GENERATOR_HEADER.split('\n');
  const withoutLines = (from: string, to: string): string => {
    const a = lines.findIndex((l) => l.includes(from));
    const b = lines.findIndex((l, i) => i >= a && l.includes(to));
    return [...lines.slice(0, a), ...lines.slice(b + 1)].join('\n');
  };
  assert.equal(errorOf(withoutLines('<encodedSpace>', '</encodedSpace>')), 'Cannot parse ISMRMRD header: encoding 0 has no encodedSpace (line 11)');
  assert.equal(errorOf(withoutLines('<reconSpace>', '</reconSpace>')), 'Cannot parse ISMRMRD header: encoding 0 has no reconSpace (line 11)');
  assert.equal(errorOf(withoutLines('<encodingLimits>', '</encodingLimits>')), 'Cannot parse ISMRMRD header: encoding 0 has no encodingLimits (line 11)');
  assert.equal(errorOf(withoutLines('<trajectory>', '<trajectory>')), 'Cannot parse ISMRMRD header: encoding 0 has no trajectory (line 11)');
  assert.equal(
    errorOf(withoutLines('<matrixSize>', '</matrixSize>')),
    'Cannot parse ISMRMRD header: encoding 0 encodedSpace has no matrixSize (line 12)',
  );
  assert.equal(
    errorOf(withoutLines('<x>300.000000', '<z>6.000000')),
    'Cannot parse ISMRMRD header: encoding 0 reconSpace fieldOfView_mm has no x (line 30)',
  );
  assert.equal(
    errorOf(withoutLines('<accelerationFactor>', '</accelerationFactor>')),
    'Cannot parse ISMRMRD header: encoding 0 parallelImaging has no accelerationFactor (line 49)',
  );
  assert.equal(
    errorOf(GENERATOR_HEADER.replace('<kspace_encoding_step_2>1</kspace_encoding_step_2>', '')),
    'Cannot parse ISMRMRD header: encoding 0 parallelImaging accelerationFactor has no kspace_encoding_step_2 (line 50)',
  );
  assert.match(
    errorOf(minimal(`<measurementInformation><measurementID>1</measurementID></measurementInformation>${CONDITIONS}${ENCODING}`)),
    /measurementInformation has no patientPosition \(line 1\)$/,
  );
  assert.match(
    errorOf(minimal(`<measurementInformation><patientPosition>HFS</patientPosition><measurementDependency><dependencyType>Noise</dependencyType></measurementDependency></measurementInformation>${CONDITIONS}${ENCODING}`)),
    /measurementInformation measurementDependency 0 has no measurementID/,
  );
  assert.match(
    errorOf(minimal(`${CONDITIONS}${ENCODING}<userParameters><userParameterLong><name>a</name></userParameterLong></userParameters>`)),
    /userParameters userParameterLong 0 has no value/,
  );
  assert.match(
    errorOf(minimal(`${CONDITIONS}${ENCODING}${ENCODING.replace('<encodingLimits/>', '')}`)),
    /encoding 1 has no encodingLimits/,
  );
});

test('xml-header refuses invalid enumeration values with element and line', () => {
  const lines = GENERATOR_HEADER.split('\n');
  const trajLine = lines.findIndex((l) => l.includes('<trajectory>')) + 1;
  assert.equal(
    errorOf(GENERATOR_HEADER.replace('>cartesian<', '>Cartesian<')),
    `Cannot parse ISMRMRD header: encoding 0 trajectory 'Cartesian' is not one of cartesian, epi, radial, goldenangle, spiral, other (line ${trajLine})`,
  );
  assert.match(errorOf(GENERATOR_HEADER.replace('>interleaved<', '>sometimes<')),
    /encoding 0 parallelImaging calibrationMode 'sometimes' is not one of embedded, interleaved, separate, external, other \(line 54\)$/);
  assert.match(
    errorOf(GENERATOR_HEADER.replace('</calibrationMode>', '</calibrationMode><interleavingDimension>slice</interleavingDimension>')),
    /encoding 0 parallelImaging interleavingDimension 'slice' is not one of phase, repetition, contrast, average, other/,
  );
  assert.match(
    errorOf(minimal(`<measurementInformation>\n<patientPosition>HFX</patientPosition></measurementInformation>${CONDITIONS}${ENCODING}`)),
    /measurementInformation patientPosition 'HFX' is not one of HFP, HFS, HFDR, HFDL, FFP, FFS, FFDR, FFDL \(line 2\)$/,
  );
  assert.match(
    errorOf(minimal(`${CONDITIONS}${ENCODING}<waveformInformation><waveformName>w</waveformName>\n\n<waveformType>ECG</waveformType></waveformInformation>`)),
    /waveformInformation 0 waveformType 'ECG' is not one of ecg, pulse, respiratory, trigger, gradientwaveform, other \(line 3\)$/,
  );
});

test('xml-header refuses malformed numbers', () => {
  assert.match(errorOf(GENERATOR_HEADER.replace('<x>512</x>', '<x>abc</x>')), /encoding 0 encodedSpace matrixSize x 'abc' is not an integer \(line 14\)$/);
  assert.match(errorOf(GENERATOR_HEADER.replace('<x>512</x>', '<x>512.5</x>')), /matrixSize x '512.5' is not an integer/);
  assert.match(errorOf(GENERATOR_HEADER.replace('<x>512</x>', '<x>70000</x>')), /matrixSize x 70000 is out of range for unsignedShort \(0 to 65535\)/);
  assert.match(errorOf(GENERATOR_HEADER.replace('<x>512</x>', '<x>-1</x>')), /matrixSize x -1 is out of range/);
  assert.match(errorOf(GENERATOR_HEADER.replace('<x>600.000000</x>', '<x>6OO</x>')), /fieldOfView_mm x '6OO' is not a float number \(line 19\)$/);
  assert.match(errorOf(GENERATOR_HEADER.replace('63500000', '9999999999999999999')), /H1resonanceFrequency_Hz 9999999999999999999 is out of range for long/);
});

test('xml-header refuses a wrong root, malformed XML and a DOCTYPE', () => {
  assert.equal(errorOf('<ismrmrdMeta/>'), 'Cannot parse ISMRMRD header: the root element is ismrmrdMeta, not ismrmrdHeader (line 1)');
  assert.match(errorOf('<ismrmrdHeader><version>8</ismrmrdHeader>'), /^Cannot parse ISMRMRD header: Malformed XML.*\(line 1, column \d+\)$/);
  assert.match(errorOf(''), /^Cannot parse ISMRMRD header: Malformed XML/);
  assert.match(
    errorOf(`<?xml version="1.0"?>\n<!DOCTYPE ismrmrdHeader [<!ENTITY a "aaaa">]>\n${minimal(CONDITIONS + ENCODING)}`),
    /^Cannot parse ISMRMRD header: XML document type declarations are not allowed \(line 2\)/,
  );
});

test('xml-header refuses to serialize non-integers in integer fields and a header without encoding', () => {
  const h = parseIsmrmrdHeader(GENERATOR_HEADER);
  h.encoding[0]!.encodedSpace.matrixSize.x = 2.5;
  assert.throws(() => serializeIsmrmrdHeader(h), { name: 'RangeError', message: /x is 2.5, not an integer/ });
  assert.throws(() => serializeIsmrmrdHeader({ ...h, encoding: [] }), RangeError);
});

// ---------------------------------------------------------------------------
// Property: any header built from the model survives serialize → parse unchanged.

const text = fc.string({ maxLength: 12 });
const real = fc.double();
const ushort = fc.integer({ min: 0, max: 65535 });
const long = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const xyz = (n: fc.Arbitrary<number>) => fc.record({ x: n, y: n, z: n });
const opt = <T extends Record<string, unknown>>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  fc.record(model, { requiredKeys: [] });
const named = <T>(value: fc.Arbitrary<T>) => fc.array(fc.record({ name: text, value }), { maxLength: 2 });
const userParameters = fc.record({
  userParameterLong: named(long), userParameterDouble: named(real), userParameterString: named(text), userParameterBase64: named(text),
});
const limit = fc.record({ minimum: ushort, maximum: ushort, center: ushort });
const limits = fc.record(Object.fromEntries(ENCODING_LIMIT_NAMES.map((n) => [n, limit])), { requiredKeys: [] });
const space = fc.record({ matrixSize: xyz(ushort), fieldOfView_mm: xyz(real) });
const encoding = fc.record({
  encodedSpace: space, reconSpace: space, encodingLimits: limits, trajectory: fc.constantFrom(...TRAJECTORY_TYPES),
  trajectoryDescription: fc.record({
    identifier: text, userParameterLong: named(long), userParameterDouble: named(real), comment: text,
  }, { requiredKeys: ['identifier', 'userParameterLong', 'userParameterDouble'] }),
  parallelImaging: fc.record({
    accelerationFactor: fc.record({ kspace_encoding_step_1: ushort, kspace_encoding_step_2: ushort }),
    calibrationMode: fc.constantFrom(...CALIBRATION_MODES),
    interleavingDimension: fc.constantFrom(...INTERLEAVING_DIMENSIONS),
  }, { requiredKeys: ['accelerationFactor'] }),
  echoTrainLength: long,
}, { requiredKeys: ['encodedSpace', 'reconSpace', 'encodingLimits', 'trajectory'] });
const header = fc.record({
  version: long,
  subjectInformation: opt({ patientName: text, patientWeight_kg: real, patientID: text, patientBirthdate: text, patientGender: text }),
  studyInformation: opt({
    studyDate: text, studyTime: text, studyID: text, accessionNumber: long, referringPhysicianName: text,
    studyDescription: text, studyInstanceUID: text,
  }),
  measurementInformation: fc.record({
    measurementID: text, seriesDate: text, seriesTime: text, patientPosition: fc.constantFrom(...PATIENT_POSITIONS),
    relativeTablePosition: xyz(real), initialSeriesNumber: long, protocolName: text, seriesDescription: text,
    measurementDependency: fc.array(fc.record({ dependencyType: text, measurementID: text }), { maxLength: 2 }),
    seriesInstanceUIDRoot: text, frameOfReferenceUID: text,
    referencedImageSequence: fc.record({ referencedSOPInstanceUID: fc.array(text, { maxLength: 2 }) }),
  }, { requiredKeys: ['patientPosition', 'measurementDependency'] }),
  acquisitionSystemInformation: fc.record({
    systemVendor: text, systemModel: text, systemFieldStrength_T: real, relativeReceiverNoiseBandwidth: real,
    receiverChannels: ushort, coilLabel: fc.array(fc.record({ coilNumber: ushort, coilName: text }), { maxLength: 2 }),
    institutionName: text, stationName: text, deviceID: text,
  }, { requiredKeys: ['coilLabel'] }),
  experimentalConditions: fc.record({ H1resonanceFrequency_Hz: long }),
  encoding: fc.array(encoding, { minLength: 1, maxLength: 2 }),
  sequenceParameters: fc.record({
    TR: fc.array(real, { maxLength: 2 }), TE: fc.array(real, { maxLength: 2 }), TI: fc.array(real, { maxLength: 2 }),
    flipAngle_deg: fc.array(real, { maxLength: 2 }), sequence_type: text, echo_spacing: fc.array(real, { maxLength: 2 }),
  }, { requiredKeys: ['TR', 'TE', 'TI', 'flipAngle_deg', 'echo_spacing'] }),
  userParameters,
  waveformInformation: fc.array(fc.record({
    waveformName: text, waveformType: fc.constantFrom(...WAVEFORM_TYPES), userParameters,
  }, { requiredKeys: ['waveformName', 'waveformType'] }), { maxLength: 2 }),
}, { requiredKeys: ['experimentalConditions', 'encoding', 'waveformInformation'] });

test('xml-header round-trips any header of the model (property)', () => {
  fc.assert(fc.property(header, (h) => {
    const typed = structuredClone(h) as IsmrmrdHeader; // plain prototypes: fast-check may build null-prototype records
    const xml = serializeIsmrmrdHeader(typed);
    assert.deepEqual(parseIsmrmrdHeader(xml), typed);
    assert.equal(serializeIsmrmrdHeader(parseIsmrmrdHeader(xml)), xml);
  }), { numRuns: 300 });
});
