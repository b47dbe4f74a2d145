import test from 'node:test';
import assert from 'node:assert/strict';
import {
  compareMetaNames, escapePcdata, formatMetaNumber, metaAppend, metaGet, metaGetNumber, metaIsEmpty, metaSet,
  parseMeta, serializeMeta,
} from './meta.js';
import type { MetaContainer } from './types.js';

// Bytes written by ISMRMRD 1.8 `serialize(MetaContainer)` for the same container
// (probe program linked against libismrmrd 1.8.0 / pugixml 1.13).
const REFERENCE =
  '<?xml version="1.0"?>\n<ismrmrdMeta>\n' +
  '\t<meta>\n\t\t<name>GADGETRON_DataRole</name>\n\t\t<value>Image</value>\n\t</meta>\n' +
  '\t<meta>\n\t\t<name>GADGETRON_ImageNumber</name>\n\t\t<value>3</value>\n\t</meta>\n' +
  '\t<meta>\n\t\t<name>Z</name>\n\t\t<value></value>\n\t</meta>\n' +
  '\t<meta>\n\t\t<name>_u</name>\n\t\t<value>\u00e9</value>\n\t</meta>\n' +
  '\t<meta>\n\t\t<name>a</name>\n\t\t<value>x&lt;&amp;&gt;"\'\t y</value>\n\t</meta>\n' +
  '\t<meta>\n\t\t<name>b</name>\n' +
  '\t\t<value>128.5</value>\n\t\t<value>0.001</value>\n\t\t<value>1e+06</value>\n\t\t<value>3.14159</value>\n' +
  '\t\t<value>1e-05</value>\n\t\t<value>1.23457e+08</value>\n\t\t<value>-0</value>\n\t\t<value>100000</value>\n' +
  '\t\t<value>1e+15</value>\n\t</meta>\n' +
  '\t<meta>\n\t\t<name>c</name>\n\t\t<value>42</value>\n\t\t<value>-7</value>\n\t</meta>\n' +
  '</ismrmrdMeta>\n';

function referenceContainer(): MetaContainer {
  const meta: MetaContainer = new Map();
  metaSet(meta, 'b', 128.5);
  for (const x of [0.001, 1e6, 3.14159265, 1e-5, 123456789.5, -0, 100000.25, 1e15 + 0.5]) {
    metaAppend(meta, 'b', formatMetaNumber(x, false));
  }
  metaSet(meta, 'a', 'x<&>"\'\t y');
  metaSet(meta, 'c', [42, -7]);
  metaSet(meta, 'Z', '');
  metaSet(meta, '_u', '\u00e9');
  metaSet(meta, 'GADGETRON_ImageNumber', 3);
  metaSet(meta, 'GADGETRON_DataRole', 'Image');
  return meta;
}

test('serializeMeta writes the exact ISMRMRD 1.8 bytes in std::map name order', () => {
  assert.equal(serializeMeta(referenceContainer()), REFERENCE);
});

test('serializeMeta writes an empty container as a pugixml empty element', () => {
  assert.equal(serializeMeta(new Map()), '<?xml version="1.0"?>\n<ismrmrdMeta />\n');
  assert.equal(metaIsEmpty(new Map()), true);
  assert.equal(metaIsEmpty(undefined), true);
  assert.equal(metaIsEmpty(new Map([['a', ['1']]])), false);
});

test('parseMeta round-trips serializeMeta', () => {
  const meta = referenceContainer();
  const parsed = parseMeta(serializeMeta(meta));
  assert.deepEqual(parsed, meta);
  assert.equal(serializeMeta(parsed), REFERENCE);
  assert.deepEqual(parseMeta(serializeMeta(new Map())), new Map());
});

test('parseMeta accepts empty input and strips trailing NULs', () => {
  assert.deepEqual(parseMeta(''), new Map());
  assert.deepEqual(parseMeta('\0'), new Map());
  const withNul = `${serializeMeta(new Map([['GADGETRON_DataRole', ['Image']]]))}\0`;
  assert.deepEqual(parseMeta(withNul), new Map([['GADGETRON_DataRole', ['Image']]]));
});

test('parseMeta follows ISMRMRD 1.8 for repeated names, missing values and missing names', () => {
  const xml = '<ismrmrdMeta><meta><name>a</name><value>1</value></meta><meta><name>a</name><value>2</value></meta>'
    + '<meta><name>novalue</name></meta><meta><value>anon</value></meta><other/></ismrmrdMeta>';
  assert.deepEqual(parseMeta(xml), new Map([['a', ['1', '2']], ['', ['anon']]]));
});

test('parseMeta keeps whitespace and decodes entities and CDATA in values', () => {
  const xml = '<?xml version="1.0"?><ismrmrdMeta><meta><name> n </name><value>a &amp; b</value>'
    + '<value><![CDATA[<x>]]></value><value/></meta></ismrmrdMeta>';
  assert.deepEqual(parseMeta(xml), new Map([[' n ', ['a & b', '<x>', '']]]));
});

test('parseMeta refuses a wrong root element', () => {
  assert.throws(() => parseMeta('<foo/>'), {
    message: 'Cannot parse image meta attributes: ismrmrdMeta tag not found',
  });
  assert.throws(() => parseMeta('<x:ismrmrdMeta xmlns:x="urn:x"/>'), /ismrmrdMeta tag not found/);
});

test('parseMeta reports malformed XML and refuses a DOCTYPE', () => {
  assert.throws(() => parseMeta('<ismrmrdMeta><meta><name>a'), /^Error: Cannot parse image meta attributes: Malformed XML/);
  assert.throws(
    () => parseMeta('<!DOCTYPE ismrmrdMeta [<!ENTITY x "y">]><ismrmrdMeta/>'),
    /Cannot parse image meta attributes: XML document type declarations are not allowed/,
  );
});

test('formatMetaNumber mimics stringstream << for long and double', () => {
  const doubles: [number, string][] = [
    [128.5, '128.5'], [0.001, '0.001'], [1e6, '1e+06'], [3.14159265, '3.14159'], [1e-5, '1e-05'],
    [123456789, '1.23457e+08'], [-0, '-0'], [0, '0'], [100000, '100000'], [1e15, '1e+15'], [1e-300, '1e-300'],
    [-2.5e-7, '-2.5e-07'], [999999.5, '1e+06'], [0.0001234567, '0.000123457'], [123456.5, '123456'],
    [123457.5, '123458'], [0.5, '0.5'], [1, '1'], [-1.5, '-1.5'], [Infinity, 'inf'], [-Infinity, '-inf'],
    [NaN, 'nan'], [5e-324, '4.94066e-324'], [1.7976931348623157e308, '1.79769e+308'], [0.0001, '0.0001'],
    [0.00001, '1e-05'], [1e100, '1e+100'],
  ];
  for (const [x, expected] of doubles) assert.equal(formatMetaNumber(x, false), expected, `double ${x}`);
  const longs: [number, string][] = [[42, '42'], [-7, '-7'], [0, '0'], [-0, '0'], [3.9, '3'], [-3.9, '-3'],
    [2 ** 53, '9007199254740992'], [1e21, '1000000000000000000000']];
  for (const [x, expected] of longs) assert.equal(formatMetaNumber(x, true), expected, `long ${x}`);
  assert.throws(() => formatMetaNumber(NaN, true), RangeError);
});

test('metaSet and metaAppend format numbers and replace or extend values', () => {
  const meta: MetaContainer = new Map();
  metaSet(meta, 'n', 5);
  metaAppend(meta, 'n', 2.5);
  metaAppend(meta, 'n', ['x', 1e6]);
  assert.deepEqual(meta.get('n'), ['5', '2.5', 'x', '1000000']);
  metaSet(meta, 'n', 0.1);
  assert.deepEqual(meta.get('n'), ['0.1']);
  metaAppend(meta, 'new', 'v');
  assert.deepEqual(meta.get('new'), ['v']);
  metaAppend(meta, 'new', []);
  assert.deepEqual(meta.get('new'), ['v']);
  metaSet(meta, 'new', []);
  assert.equal(meta.has('new'), false);
});

test('metaGet and metaGetNumber read values like MetaValue::as_str and as_double', () => {
  const meta = new Map([
    ['s', ['Image', 'x']], ['d', ['128.5', ' 1e+06', '12abc', 'inf', '-inf', 'nan', 'abc', '']],
  ]);
  assert.equal(metaGet(meta, 's'), 'Image');
  assert.equal(metaGet(meta, 's', 1), 'x');
  assert.equal(metaGet(meta, 'missing'), undefined);
  assert.equal(metaGet(meta, 's', 5), undefined);
  assert.equal(metaGetNumber(meta, 'd'), 128.5);
  assert.equal(metaGetNumber(meta, 'd', 1), 1e6);
  assert.equal(metaGetNumber(meta, 'd', 2), 12);
  assert.equal(metaGetNumber(meta, 'd', 3), Infinity);
  assert.equal(metaGetNumber(meta, 'd', 4), -Infinity);
  assert.ok(Number.isNaN(metaGetNumber(meta, 'd', 5)));
  assert.equal(metaGetNumber(meta, 'd', 6), undefined);
  assert.equal(metaGetNumber(meta, 'd', 7), undefined);
  assert.equal(metaGetNumber(meta, 'missing'), undefined);
});

test('escapePcdata escapes like pugixml, keeping tab, CR and LF', () => {
  assert.equal(escapePcdata('x\ry\nz\x01w\x1f>]]>"\'\t&'), 'x\ry\nz&#01;w&#31;&gt;]]&gt;"\'\t&amp;');
});

test('compareMetaNames orders by code point like UTF-8 bytes', () => {
  const names = ['b', 'B', '_', 'a', '\uffff', '\u{1f600}', 'ab', ''];
  assert.deepEqual(names.sort(compareMetaNames), ['', 'B', '_', 'a', 'ab', 'b', '\uffff', '\u{1f600}']);
});
