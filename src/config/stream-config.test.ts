import assert from 'node:assert/strict';
import test from 'node:test';
import { ConfigError } from './errors.js';
import { MAX_CONFIG_LENGTH, parseStreamConfiguration, type GadgetSpec, type NodeSpec } from './stream-config.js';

/** Asserts that parsing `xml` fails with `code`, at `line`, with a message matching `pattern`. */
function rejects(xml: string, code: string, line: number | undefined, pattern: RegExp): ConfigError {
  let caught: unknown;
  try {
    parseStreamConfiguration(xml);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.line, line, caught.message);
  assert.match(caught.message, pattern);
  assert.match(caught.message, /^Cannot load config/);
  return caught;
}

function v2(stream: string, extra = ''): string {
  return `<configuration>\n<version>2</version>\n${extra}<stream key="s">\n${stream}\n</stream>\n</configuration>\n`;
}

function gadget(node: NodeSpec | undefined): GadgetSpec {
  assert.ok(node && node.type === 'gadget', `expected a gadget, got ${node?.type}`);
  return node;
}

const V1 = `<?xml version="1.0"?>
<gadgetronStreamConfiguration xmlns="http://gadgetron.sf.net/gadgetron" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://gadgetron.sf.net/gadgetron gadgetron.xsd">
  <reader>
    <slot>1008</slot>
    <dll>gadgetron_mricore</dll>
    <classname>GadgetIsmrmrdAcquisitionMessageReader</classname>
  </reader>
  <writer>
    <slot>1022</slot>
    <dll>gadgetron_mricore</dll>
    <classname>MRIImageWriter</classname>
  </writer>
  <gadget>
    <name>AccTrig</name>
    <dll>gadgetron_mricore</dll>
    <classname>AcquisitionAccumulateTriggerGadget</classname>
    <property>
      <name>trigger_dimension</name>
      <value>repetition</value>
    </property>
  </gadget>
  <gadget>
    <dll>gadgetron_mricore</dll>
    <classname>ImageFinishGadget</classname>
  </gadget>
</gadgetronStreamConfiguration>
`;

test('parseStreamConfiguration reads a v1 configuration into one stream keyed "main"', () => {
  const config = parseStreamConfiguration(V1);
  assert.equal(config.format, 'v1');
  assert.deepEqual(config.readers, [
    { dll: 'gadgetron_mricore', classname: 'GadgetIsmrmrdAcquisitionMessageReader', slot: 1008, line: 3, column: 3 },
  ]);
  assert.deepEqual(config.writers, [{ dll: 'gadgetron_mricore', classname: 'MRIImageWriter', line: 8, column: 3 }]);
  assert.equal(config.stream.key, 'main');
  assert.equal(config.stream.line, 2);
  assert.equal(config.stream.nodes.length, 2);
  assert.deepEqual(config.stream.nodes[0], {
    type: 'gadget', name: 'AccTrig', dll: 'gadgetron_mricore', classname: 'AcquisitionAccumulateTriggerGadget',
    properties: [{ name: 'trigger_dimension', value: 'repetition', line: 17, column: 5 }], line: 13, column: 3,
  });
  assert.equal(gadget(config.stream.nodes[1]).name, 'ImageFinishGadget', 'the name defaults to the class name');
});

test('parseStreamConfiguration accepts an empty v1 configuration (isalive)', () => {
  const config = parseStreamConfiguration('<gadgetronStreamConfiguration/>');
  assert.deepEqual(config, { format: 'v1', readers: [], writers: [], stream: { key: 'main', nodes: [], line: 1, column: 1 } });
});

test('parseStreamConfiguration refuses the attribute property form in v1', () => {
  const xml = '<gadgetronStreamConfiguration>\n<gadget><dll>d</dll><classname>C</classname>\n<property name="a" value="b"/>\n</gadget>\n</gadgetronStreamConfiguration>';
  rejects(xml, 'CONFIG_STRUCTURE', 3, /<property> at line 3 uses name\/value attributes, which only version 2/);
});

test('parseStreamConfiguration refuses a prefixed v1 root', () => {
  rejects('<g:gadgetronStreamConfiguration xmlns:g="urn:x"/>', 'CONFIG_FORMAT', 1,
    /no parser accepted the document \(root <g:gadgetronStreamConfiguration> at line 1\)/);
});

test('parseStreamConfiguration reads a v2 configuration with both property forms', () => {
  const xml = `<?xml version="1.0"?>
<configuration>
  <version>2</version>
  <readers>
    <reader><dll>gadgetron_core_readers</dll><classname>AcquisitionReader</classname></reader>
  </readers>
  <writers>
    <writer><dll>gadgetron_core_writers</dll><classname>ImageWriter</classname></writer>
  </writers>
  <stream key="top">
    <gadget>
      <name>Trig</name>
      <dll>gadgetron_mricore</dll>
      <classname>AcquisitionAccumulateTriggerGadget</classname>
      <property name="trigger_dimension" value="repetition"/>
      <property><name>sorting_dimension</name><value>slice</value></property>
      <property name="empty" value=""/>
    </gadget>
  </stream>
</configuration>`;
  const config = parseStreamConfiguration(xml);
  assert.equal(config.format, 'v2');
  assert.deepEqual(config.readers, [{ dll: 'gadgetron_core_readers', classname: 'AcquisitionReader', line: 5, column: 5 }]);
  assert.equal(config.writers[0]?.classname, 'ImageWriter');
  assert.equal(config.stream.key, 'top');
  assert.deepEqual(gadget(config.stream.nodes[0]).properties, [
    { name: 'trigger_dimension', value: 'repetition', line: 15, column: 7 },
    { name: 'sorting_dimension', value: 'slice', line: 16, column: 7 },
    { name: 'empty', value: '', line: 17, column: 7 },
  ]);
});

test('parseStreamConfiguration accepts a v2 version with surrounding whitespace and no readers', () => {
  const config = parseStreamConfiguration('<configuration><version> 2 </version><stream/></configuration>');
  assert.deepEqual(config.readers, []);
  assert.deepEqual(config.writers, []);
  assert.equal(config.stream.key, undefined);
});

test('parseStreamConfiguration reports an ambiguous property and one with neither form', () => {
  const both = v2('<gadget><dll>d</dll><classname>C</classname>\n<property name="a" value="1"><name>a</name><value>1</value></property>\n</gadget>');
  rejects(both, 'CONFIG_STRUCTURE', 5, /Ambiguous property: <property> at line 5 has both/);
  const neither = v2('<gadget><dll>d</dll><classname>C</classname>\n<property/>\n</gadget>');
  rejects(neither, 'CONFIG_STRUCTURE', 5, /<property> at line 5 has neither name\/value attributes nor <name>\/<value> elements/);
  const noValue = v2('<gadget><dll>d</dll><classname>C</classname>\n<property name="a"/>\n</gadget>');
  rejects(noValue, 'CONFIG_STRUCTURE', 5, /<property> at line 5 has no value attribute/);
  const noValueElement = v2('<gadget><dll>d</dll><classname>C</classname>\n<property><name>a</name></property>\n</gadget>');
  rejects(noValueElement, 'CONFIG_STRUCTURE', 5, /<property> at line 5 has no <value>/);
});

test('parseStreamConfiguration refuses a property set twice on one gadget', () => {
  const xml = v2('<gadget><dll>d</dll><classname>C</classname>\n<property name="a" value="1"/>\n<property name="a" value="2"/>\n</gadget>');
  rejects(xml, 'CONFIG_STRUCTURE', 6, /sets property 'a' of <gadget> at line 4 again \(first set at line 5\)/);
});

test('parseStreamConfiguration reads every node kind', () => {
  const xml = `<configuration>
  <version>2</version>
  <stream>
    <parallel>
      <branch><dll>gadgetron_core_parallel</dll><classname>ImageFanout</classname></branch>
      <merge><dll>gadgetron_examples</dll><classname>ImageLayerer</classname></merge>
      <stream key="unchanged"/>
      <stream key="inverted">
        <gadget><dll>gadgetron_examples</dll><classname>ImageInverter</classname></gadget>
      </stream>
    </parallel>
    <distributed>
      <readers><reader><dll>gadgetron_mricore</dll><classname>MRIImageReader</classname></reader></readers>
      <writers><writer><dll>gadgetron_mricore</dll><classname>GadgetIsmrmrdAcquisitionMessageWriter</classname></writer></writers>
      <distributor>
        <dll>gadgetron_core_distributed</dll><classname>AcquisitionDistributor</classname>
        <property name="parallel_dimension" value="repetition"/>
      </distributor>
      <stream key="worker">
        <gadget><dll>gadgetron_mricore</dll><classname>SimpleReconGadget</classname></gadget>
      </stream>
    </distributed>
    <puredistributed>
      <readers><reader><dll>gadgetron_mricore</dll><classname>MRIImageReader</classname></reader></readers>
      <writers><writer><dll>gadgetron_mricore</dll><classname>MRIImageWriter</classname></writer></writers>
      <purestream>
        <gadget><dll>gadgetron_mricore</dll><classname>ComplexToFloatGadget</classname></gadget>
      </purestream>
    </puredistributed>
    <parallelprocess workers="4">
      <purestream>
        <gadget><dll>gadgetron_mricore</dll><classname>AutoScaleGadget</classname></gadget>
      </purestream>
    </parallelprocess>
    <external>
      <execute name="gadgetron.examples" type="python" target="recon_buffers"/>
      <configuration><property name="a" value="1"/></configuration>
    </external>
    <external>
      <connect port="18000"/>
      <readers><reader><dll>gadgetron_core_readers</dll><classname>ImageReader</classname></reader></readers>
    </external>
  </stream>
</configuration>`;
  const config = parseStreamConfiguration(xml);
  const [parallel, distributed, pure, pool, execute, connect] = config.stream.nodes;
  assert.deepEqual(config.stream.nodes.map((n) => [n.type, n.line]), [
    ['parallel', 4], ['distributed', 12], ['puredistributed', 23], ['parallelprocess', 30], ['external', 35], ['external', 39],
  ]);

  assert.ok(parallel?.type === 'parallel');
  assert.equal(parallel.branch.classname, 'ImageFanout');
  assert.equal(parallel.branch.name, 'ImageFanout');
  assert.equal(parallel.merge.classname, 'ImageLayerer');
  assert.deepEqual(parallel.streams.map((s) => [s.key, s.nodes.length, s.line]), [['unchanged', 0, 7], ['inverted', 1, 8]]);

  assert.ok(distributed?.type === 'distributed');
  assert.equal(distributed.readers[0]?.classname, 'MRIImageReader');
  assert.equal(distributed.writers[0]?.classname, 'GadgetIsmrmrdAcquisitionMessageWriter');
  assert.deepEqual(distributed.distributor.properties, [{ name: 'parallel_dimension', value: 'repetition', line: 17, column: 9 }]);
  assert.equal(distributed.stream.key, 'worker');
  assert.equal(gadget(distributed.stream.nodes[0]).classname, 'SimpleReconGadget');

  assert.ok(pure?.type === 'puredistributed');
  assert.equal(pure.stream.key, undefined);
  assert.equal(gadget(pure.stream.nodes[0]).classname, 'ComplexToFloatGadget');

  assert.ok(pool?.type === 'parallelprocess');
  assert.equal(pool.workers, 4);
  assert.equal(gadget(pool.stream.nodes[0]).classname, 'AutoScaleGadget');

  assert.ok(execute?.type === 'external');
  assert.deepEqual(execute.action, { kind: 'execute', name: 'gadgetron.examples', language: 'python', target: 'recon_buffers' });
  assert.equal(execute.configuration?.name, 'configuration');
  assert.deepEqual(execute.readers, []);

  assert.ok(connect?.type === 'external');
  assert.deepEqual(connect.action, { kind: 'connect', address: 'localhost', port: 18000 });
  assert.equal(connect.readers.length, 1);
  assert.equal(connect.configuration, undefined);
});

test('parseStreamConfiguration checks composite nodes', () => {
  const branch = '<branch><dll>p</dll><classname>ImageFanout</classname></branch>';
  const merge = '<merge><dll>p</dll><classname>UnorderedMerge</classname></merge>';
  rejects(v2(`<parallel>\n${branch}${merge}\n<stream key="a"/>\n<stream key="a"/>\n</parallel>`), 'CONFIG_STRUCTURE', 7,
    /<stream> at line 7 in <parallel> at line 4 repeats the stream key 'a' \(first used at line 6\)/);
  rejects(v2(`<parallel>\n${branch}${merge}\n<stream/>\n</parallel>`), 'CONFIG_STRUCTURE', 6, /<stream> at line 6 has no key attribute/);
  rejects(v2(`<parallel>\n${branch}${merge}\n</parallel>`), 'CONFIG_STRUCTURE', 4, /<parallel> at line 4 has no <stream>/);
  rejects(v2(`<parallel>\n${branch}\n<stream key="a"/>\n</parallel>`), 'CONFIG_STRUCTURE', 4, /<parallel> at line 4 has no <merge>/);
  rejects(v2('<distributed>\n<stream/>\n</distributed>'), 'CONFIG_STRUCTURE', 4, /<distributed> at line 4 has no <distributor>/);
  rejects(v2('<puredistributed>\n<purestream>\n<parallelprocess workers="1"><purestream/></parallelprocess>\n</purestream>\n</puredistributed>'),
    'CONFIG_STRUCTURE', 6, /unknown element <parallelprocess> at line 6 in <purestream>/);
  rejects(v2('<parallelprocess>\n<purestream/>\n</parallelprocess>'), 'CONFIG_STRUCTURE', 4, /<parallelprocess> at line 4 has no workers attribute/);
  rejects(v2('<parallelprocess workers="-1">\n<purestream/>\n</parallelprocess>'), 'CONFIG_STRUCTURE', 4,
    /workers of <parallelprocess> at line 4 is '-1'; expected an integer from 0 to 4096/);
  rejects(v2('<external>\n<execute name="m" type="python"/>\n<connect port="1"/>\n</external>'), 'CONFIG_STRUCTURE', 4,
    /<external> at line 4 has both <execute> and <connect>/);
  rejects(v2('<external>\n</external>'), 'CONFIG_STRUCTURE', 4, /<external> at line 4 has neither <execute> nor <connect>/);
  rejects(v2('<external>\n<execute name="m" type="cobol"/>\n</external>'), 'CONFIG_STRUCTURE', 5,
    /<execute> at line 5 has type 'cobol'; expected one of python, matlab, julia/);
  rejects(v2('<external>\n<connect port="70000"/>\n</external>'), 'CONFIG_STRUCTURE', 5, /port of <connect> at line 5 is '70000'/);
});

test('parseStreamConfiguration reports missing, unknown and repeated elements at their line', () => {
  const missing = `<configuration>
  <version>2</version>
  <stream>
    <gadget>
      <dll>gadgetron_mricore</dll>
      <classname>RemoveROOversamplingGadget</classname>
    </gadget>
    <gadget>
      <name>Broken</name>

      <dll>gadgetron_mricore</dll>
    </gadget>
  </stream>
</configuration>`;
  const err = rejects(missing, 'CONFIG_STRUCTURE', 8, /^Cannot load config: <gadget> at line 8 has no <classname>$/);
  assert.equal(err.column, 5);
  rejects(v2('<gadget><dll>d</dll><classname>C</classname></gadget>\n\n<gadgt/>'), 'CONFIG_STRUCTURE', 6,
    /^Cannot load config: unknown element <gadgt> at line 6 in <stream>$/);
  rejects(v2('<gadget>\n<dll>d</dll>\n<classname>C</classname>\n<classname>D</classname>\n</gadget>'), 'CONFIG_STRUCTURE', 7,
    /<gadget> at line 4 has more than one <classname> \(line 7\)/);
  rejects(v2('<gadget>\n<dll>d</dll>\n<classname>  </classname>\n</gadget>'), 'CONFIG_STRUCTURE', 6, /<gadget> at line 4 has an empty <classname>/);
  rejects(v2('<gadget name="X">\n<dll>d</dll><classname>C</classname></gadget>'), 'CONFIG_STRUCTURE', 4,
    /unknown attribute 'name' on <gadget> at line 4/);
  rejects(v2('<gadget>\nstray\n<dll>d</dll><classname>C</classname></gadget>'), 'CONFIG_STRUCTURE', 4, /unexpected text 'stray' in <gadget> at line 4/);
  rejects('<configuration>\n<version>2</version>\n</configuration>', 'CONFIG_STRUCTURE', 1, /<configuration> at line 1 has no <stream>/);
  rejects('<configuration>\n<version>2</version>\n<stream/>\n<extra/>\n</configuration>', 'CONFIG_STRUCTURE', 4,
    /unknown element <extra> at line 4 in <configuration>/);
  rejects('<gadgetronStreamConfiguration>\n<reader>\n<slot>big</slot><dll>d</dll><classname>C</classname>\n</reader>\n</gadgetronStreamConfiguration>',
    'CONFIG_STRUCTURE', 3, /<slot> of <slot> at line 3 is 'big'; expected an integer from 0 to 65535/);
});

test('parseStreamConfiguration points at the start of a start tag that spans lines', () => {
  const xml = '<configuration><version>2</version><stream>\n  <gadget><dll>d</dll><classname>C</classname>\n    <property\n       name="a"\n       value="1"/>\n  </gadget></stream></configuration>';
  const config = parseStreamConfiguration(xml);
  const node = gadget(config.stream.nodes[0]);
  assert.deepEqual([node.line, node.column], [2, 3]);
  assert.deepEqual([node.properties[0]?.line, node.properties[0]?.column], [3, 5]);
});

test('parseStreamConfiguration counts columns in code points', () => {
  const xml = '<configuration><version>2</version><stream>\n<!-- 𝄞 --><gadget><dll>d</dll><classname>C</classname></gadget></stream></configuration>';
  const node = gadget(parseStreamConfiguration(xml).stream.nodes[0]);
  assert.deepEqual([node.line, node.column], [2, 11]);
});

test('parseStreamConfiguration rejects documents no parser accepts', () => {
  rejects('<foo/>', 'CONFIG_FORMAT', 1, /^Cannot load config: no parser accepted the document \(root <foo> at line 1\)$/);
  rejects('<configuration><version>1</version></configuration>', 'CONFIG_FORMAT', 1, /root <configuration> at line 1 has version '1', not 2/);
  rejects('<configuration><stream/></configuration>', 'CONFIG_FORMAT', 1, /root <configuration> at line 1 has no <version>/);
});

test('parseStreamConfiguration wraps malformed XML with its line and column', () => {
  const err = rejects('<configuration>\n<version>2</version>\n<stream>\n</strem>\n</configuration>', 'CONFIG_SYNTAX', 4,
    /^Cannot load config: invalid XML at line 4, column \d+: /);
  assert.ok(err.column !== undefined && err.column > 0);
  rejects('', 'CONFIG_SYNTAX', 1, /invalid XML at line 1/);
  rejects('<configuration>&nbsp;</configuration>', 'CONFIG_SYNTAX', 1, /undefined entity/);
  rejects('<a/><b/>', 'CONFIG_SYNTAX', 1, /invalid XML/);
});

test('parseStreamConfiguration refuses DOCTYPE declarations and entity expansion bombs', () => {
  const bomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<gadgetronStreamConfiguration>&lol2;</gadgetronStreamConfiguration>`;
  rejects(bomb, 'CONFIG_SYNTAX', 6, /document type declarations are not allowed/);
  const xxe = '<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><configuration><version>2</version><stream/></configuration>';
  rejects(xxe, 'CONFIG_SYNTAX', 1, /document type declarations are not allowed/);
});

test('parseStreamConfiguration enforces size and nesting limits', () => {
  const big = `<gadgetronStreamConfiguration><!--${'x'.repeat(MAX_CONFIG_LENGTH)}--></gadgetronStreamConfiguration>`;
  rejects(big, 'CONFIG_LIMIT', undefined, /the limit is 4194304/);
  const deepXml = `<configuration><version>2</version><stream><external><connect port="1"/><configuration>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</configuration></external></stream></configuration>`;
  rejects(deepXml, 'CONFIG_LIMIT', 1, /nesting deeper than 64/);
  let distributed = '<stream/>';
  for (let i = 0; i < 20; i++) distributed = `<stream><distributed><distributor><dll>d</dll><classname>C</classname></distributor>${distributed}</distributed></stream>`;
  rejects(`<configuration>\n<version>2</version>\n${distributed}</configuration>`, 'CONFIG_LIMIT', 3, /nests streams deeper than 16 levels/);
});

test('parseStreamConfiguration resolves property references, recursively and across nested streams', () => {
  const xml = `<configuration>
  <version>2</version>
  <stream>
    <gadget>
      <name>First</name><dll>d</dll><classname>A</classname>
      <property name="dimension" value="slice"/>
      <property name="alias" value="dimension@First"/>
    </gadget>
    <distributed>
      <distributor>
        <name>Dist</name><dll>d</dll><classname>AcquisitionDistributor</classname>
        <property name="parallel_dimension" value="alias@First"/>
      </distributor>
      <stream>
        <gadget><dll>d</dll><classname>Inner</classname><property name="p" value="parallel_dimension@Dist"/></gadget>
      </stream>
    </distributed>
    <gadget><dll>d</dll><classname>Last</classname><property name="q" value="p@Inner"/></gadget>
  </stream>
</configuration>`;
  const config = parseStreamConfiguration(xml);
  const [first, distributed, last] = config.stream.nodes;
  assert.equal(gadget(first).properties[1]?.value, 'slice');
  assert.ok(distributed?.type === 'distributed');
  assert.equal(distributed.distributor.properties[0]?.value, 'slice');
  assert.equal(gadget(distributed.stream.nodes[0]).properties[0]?.value, 'slice');
  assert.equal(gadget(last).properties[0]?.value, 'slice', 'a default name (the class name) can be referenced');
});

test('parseStreamConfiguration resolves references in v1 configurations', () => {
  const xml = `<gadgetronStreamConfiguration>
  <gadget><name>A</name><dll>d</dll><classname>C</classname>
    <property><name>x</name><value>42</value></property></gadget>
  <gadget><name>B</name><dll>d</dll><classname>C</classname>
    <property><name>y</name><value>x@A</value></property></gadget>
</gadgetronStreamConfiguration>`;
  assert.equal(gadget(parseStreamConfiguration(xml).stream.nodes[1]).properties[0]?.value, '42');
});

test('parseStreamConfiguration reports unresolvable, ambiguous, malformed and cyclic references', () => {
  const g = (name: string, props: string): string => `<gadget><name>${name}</name><dll>d</dll><classname>C</classname>${props}</gadget>`;
  rejects(v2(`${g('A', '')}\n${g('B', '<property name="p" value="x@Nobody"/>')}`), 'CONFIG_REFERENCE', 5,
    /property 'p' at line 5 refers to 'x@Nobody', but no node is named 'Nobody'/);
  rejects(v2(`${g('A', '')}\n${g('B', '<property name="p" value="missing@A"/>')}`), 'CONFIG_REFERENCE', 5,
    /refers to 'missing@A', but node 'A' at line 4 has no property 'missing'/);
  rejects(v2(`${g('A', '<property name="x" value="1"/>')}\n${g('A', '')}\n${g('B', '<property name="p" value="x@A"/>')}`),
    'CONFIG_REFERENCE', 6, /but 2 nodes are named 'A' \(lines 4, 5\)/);
  rejects(v2(g('A', '<property name="p" value="@A"/>')), 'CONFIG_REFERENCE', 4, /not a reference of the form property@node/);
  rejects(v2(g('A', '\n<property name="p" value="p@A"/>')), 'CONFIG_REFERENCE', 5, /cyclic reference: p@A → p@A/);
  const cycle = v2(`${g('A', '\n<property name="a" value="b@B"/>')}\n${g('B', '\n<property name="b" value="c@C"/>')}\n${g('C', '\n<property name="c" value="a@A"/>')}`);
  rejects(cycle, 'CONFIG_REFERENCE', 9, /cyclic reference: a@A → b@B → c@C → a@A/);
});

test('parseStreamConfiguration resolves a long chain of references without deep recursion', () => {
  const gadgets: string[] = [];
  const n = 5000;
  for (let i = 0; i < n; i++) {
    const value = i === n - 1 ? 'end' : `p@G${i + 1}`;
    gadgets.push(`<gadget><name>G${i}</name><dll>d</dll><classname>C</classname><property name="p" value="${value}"/></gadget>`);
  }
  const config = parseStreamConfiguration(v2(gadgets.join('\n')));
  assert.ok(config.stream.nodes.every((node) => gadget(node).properties[0]?.value === 'end'));
});

test('parseStreamConfiguration rewrites a v1 PythonGadget into an external Python node', () => {
  const xml = `<gadgetronStreamConfiguration>
  <gadget>
    <name>Py</name><dll>gadgetron_python</dll><classname>PythonGadget</classname>
    <property><name>python_module</name><value>my_recon</value></property>
    <property><name>python_class</name><value>Recon</value></property>
    <property><name>gain</name><value>2</value></property>
  </gadget>
</gadgetronStreamConfiguration>`;
  const node = parseStreamConfiguration(xml).stream.nodes[0];
  assert.ok(node?.type === 'external');
  assert.deepEqual(node.action, { kind: 'execute', name: 'my_recon', language: 'python', target: 'Recon' });
  assert.equal(node.line, 2);
  assert.deepEqual(node.configuration?.children.map((c) => (c.type === 'element' ? c.attributes : {})), [
    { name: 'python_module', value: 'my_recon' }, { name: 'python_class', value: 'Recon' }, { name: 'gain', value: '2' },
  ]);
});

test('parseStreamConfiguration names the source in its messages', () => {
  assert.throws(() => parseStreamConfiguration('<foo/>', { source: 'mine.xml' }),
    (err: unknown) => err instanceof ConfigError && err.source === 'mine.xml' && err.message.startsWith("Cannot load config 'mine.xml': no parser"));
});
