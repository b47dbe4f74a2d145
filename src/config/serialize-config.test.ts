import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { shippedConfigDir } from './config-files.js';
import { serializeStreamConfiguration, workerConfiguration } from './serialize-config.js';
import { parseStreamConfiguration, type StreamConfiguration } from './stream-config.js';

/** A deep copy without `line`/`column` anywhere (XML elements included). */
function withoutPositions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPositions);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key !== 'line' && key !== 'column') out[key] = withoutPositions(inner);
    }
    return out;
  }
  return value;
}

/** `config` as the round trip should give it back: v2, positions ignored, reader slots optionally dropped. */
function expected(config: StreamConfiguration, keepSlots: boolean): unknown {
  const copy = withoutPositions(config) as Record<string, unknown>;
  copy['format'] = 'v2';
  return keepSlots ? copy : JSON.parse(JSON.stringify(copy, (key, value: unknown) => (key === 'slot' ? undefined : value)));
}

function roundTrip(xml: string): void {
  const config = parseStreamConfiguration(xml);
  for (const includeSlots of [false, true]) {
    const text = serializeStreamConfiguration(config, { includeSlots });
    const again = parseStreamConfiguration(text);
    assert.deepEqual(withoutPositions(again), expected(config, includeSlots), text);
    assert.equal(serializeStreamConfiguration(again, { includeSlots }), text, 'serializing is stable');
  }
}

const EVERY_KIND = `<configuration>
  <version>2</version>
  <readers><reader><dll>r</dll><classname>AcquisitionReader</classname><slot>1008</slot></reader></readers>
  <writers><writer><dll>w</dll><classname>ImageWriter</classname></writer></writers>
  <stream key="top &amp; &quot;quoted&quot;">
    <gadget><name>A</name><dll>d</dll><classname>C</classname>
      <property name="plain" value="x"/>
      <property name="odd" value="&lt;&amp;&gt;&quot;'&#9;tab&#10;newline&#13;cr"/>
      <property><name>multi</name><value>line one
line two  </value></property>
      <property name="ref" value="plain@A"/>
    </gadget>
    <parallel>
      <branch><dll>p</dll><classname>ImageFanout</classname><property name="b" value="1"/></branch>
      <merge><name>M</name><dll>p</dll><classname>ImageLayerer</classname></merge>
      <stream key="unchanged"/>
      <stream key="inverted"><gadget><dll>e</dll><classname>ImageInverter</classname></gadget></stream>
    </parallel>
    <distributed>
      <readers><reader><dll>r</dll><classname>MRIImageReader</classname></reader></readers>
      <writers/>
      <distributor><dll>x</dll><classname>AcquisitionDistributor</classname><property name="parallel_dimension" value="slice"/></distributor>
      <stream key="inner"><gadget><dll>d</dll><classname>SimpleReconGadget</classname></gadget></stream>
    </distributed>
    <puredistributed>
      <readers/>
      <writers><writer><dll>w</dll><classname>MRIImageWriter</classname></writer></writers>
      <purestream><gadget><dll>d</dll><classname>ComplexToFloatGadget</classname></gadget></purestream>
    </puredistributed>
    <parallelprocess workers="0"><purestream/></parallelprocess>
    <external><execute name="mod" type="julia" target="fn"/>
      <configuration answer="42">
        <item>text &amp; more</item>
        mixed <b/> content
      </configuration>
    </external>
    <external><connect address="10.0.0.2" port="9002"/><writers><writer><dll>w</dll><classname>ImageWriter</classname></writer></writers></external>
    <external><execute name="only" type="matlab"/></external>
  </stream>
</configuration>`;

test('serializeStreamConfiguration round-trips every node kind', () => {
  roundTrip(EVERY_KIND);
});

test('serializeStreamConfiguration round-trips v1 configurations as v2', () => {
  roundTrip(`<gadgetronStreamConfiguration>
  <reader><slot>1008</slot><dll>r</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname></reader>
  <writer><slot>1022</slot><dll>w</dll><classname>MRIImageWriter</classname></writer>
  <gadget><name>G</name><dll>d</dll><classname>C</classname><property><name>a</name><value> spaced </value></property></gadget>
  <gadget><dll>gadgetron_python</dll><classname>PythonGadget</classname>
    <property><name>python_module</name><value>m</value></property></gadget>
</gadgetronStreamConfiguration>`);
  roundTrip('<gadgetronStreamConfiguration/>');
});

test('serializeStreamConfiguration round-trips every shipped config', async () => {
  const dir = shippedConfigDir();
  const names = (await readdir(dir)).filter((name) => name.endsWith('.xml'));
  assert.ok(names.length >= 4);
  for (const name of names) roundTrip(await readFile(join(dir, name), 'utf8'));
});

test('serializeStreamConfiguration writes the forwarded form: no reader slots, name and attribute properties', () => {
  const config = parseStreamConfiguration(EVERY_KIND);
  const text = serializeStreamConfiguration(config);
  assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n\t<version>2</version>\n'));
  assert.ok(!text.includes('<slot>'));
  assert.ok(text.includes('<property name="ref" value="x"/>'), 'references are written resolved');
  assert.ok(text.includes('<dll>p</dll>\n\t\t\t\t<classname>ImageFanout</classname>\n\t\t\t\t<name>ImageFanout</name>'));
  assert.ok(serializeStreamConfiguration(config, { includeSlots: true }).includes('<slot>1008</slot>'));
});

test('serializeStreamConfiguration refuses characters XML cannot carry', () => {
  const config = parseStreamConfiguration('<configuration><version>2</version><stream/></configuration>');
  config.stream.nodes.push({ type: 'gadget', name: 'G', dll: 'd', classname: 'C', properties: [{ name: 'p', value: 'bell\u0007', line: 0, column: 0 }], line: 0, column: 0 });
  assert.throws(() => serializeStreamConfiguration(config), TypeError);
});

test('workerConfiguration gives a distributed node\'s inner stream, and a pure stream keyed "PureStream"', () => {
  const config = parseStreamConfiguration(EVERY_KIND);
  const distributed = config.stream.nodes.find((n) => n.type === 'distributed');
  const pure = config.stream.nodes.find((n) => n.type === 'puredistributed');
  assert.ok(distributed?.type === 'distributed' && pure?.type === 'puredistributed');
  const worker = parseStreamConfiguration(serializeStreamConfiguration(workerConfiguration(distributed)));
  assert.equal(worker.stream.key, 'inner');
  assert.deepEqual(worker.readers.map((r) => r.classname), ['MRIImageReader']);
  const pureWorker = parseStreamConfiguration(serializeStreamConfiguration(workerConfiguration(pure)));
  assert.equal(pureWorker.stream.key, 'PureStream');
  assert.deepEqual(pureWorker.stream.nodes.map((n) => n.type === 'gadget' && n.classname), ['ComplexToFloatGadget']);
  assert.deepEqual(pureWorker.writers.map((w) => w.classname), ['MRIImageWriter']);
});
