import test from 'node:test';
import assert from 'node:assert/strict';
import { parseStreamConfiguration } from '../config/index.js';
import { defaultRegistry } from '../gadgets/index.js';
import type { Message } from '../ismrmrd/messages.js';
import { DataType, emptyImageHeader, type Image } from '../ismrmrd/types.js';
import { silentLogger } from '../util/logger.js';
import { Channel } from './channel.js';
import { planPipeline, runChain } from './pipeline.js';

function floatImage(series: number, value: number): Image {
  const head = { ...emptyImageHeader(), data_type: DataType.FLOAT, matrix_size: [2, 2, 1], image_series_index: series, image_type: 1 };
  return { kind: 'image', head, meta: new Map(), data: new Float32Array([value, value, value, value]) };
}

async function run(xml: string, messages: Message[]): Promise<Message[]> {
  const plan = planPipeline(parseStreamConfiguration(xml), defaultRegistry());
  const input = new Channel<Message>(4);
  const output = new Channel<Message>(4);
  const done = runChain(plan.chain, input, output, { header: undefined, log: silentLogger, signal: new AbortController().signal, channelCapacity: 4 })
    .finally(() => output.close());
  const feed = (async () => {
    for (const m of messages) await input.push(m);
    input.close();
  })();
  const out: Message[] = [];
  for await (const m of output) out.push(m);
  await Promise.all([done, feed]);
  return out;
}

const parallelConfig = `<configuration><version>2</version><readers/><writers/>
<stream>
  <parallel>
    <branch><dll>gadgetron_core_parallel</dll><classname>ImageFanout</classname></branch>
    <merge><dll>gadgetron_core_parallel</dll><classname>UnorderedMerge</classname></merge>
    <stream key="unchanged"/>
    <stream key="scaled">
      <gadget><dll>gadgetron_mricore</dll><classname>FloatToUShortGadget</classname>
        <property name="intensity_offset" value="0"/></gadget>
    </stream>
  </parallel>
</stream></configuration>`;

test('parallel node copies images to every stream, bypass stream included, and merges', async () => {
  const images = [floatImage(0, 1.4), floatImage(0, 2.6), floatImage(0, 3.5)];
  const out = await run(parallelConfig, [...images, { kind: 'text', text: 'hello' }]);
  const float = out.filter((m): m is Image => m.kind === 'image' && m.head.data_type === DataType.FLOAT);
  const ushort = out.filter((m): m is Image => m.kind === 'image' && m.head.data_type === DataType.USHORT);
  assert.equal(float.length, 3);
  assert.equal(ushort.length, 3);
  assert.deepEqual(ushort.map((i) => i.data[0]), [1, 3, 4]);
  assert.equal(out.filter((m) => m.kind === 'text').length, 1, 'messages the branch does not take bypass the streams');
});

test('parallelprocess runs its pure stream in order', async () => {
  const xml = `<configuration><version>2</version><readers/><writers/><stream>
    <parallelprocess workers="2"><purestream>
      <gadget><dll>gadgetron_mricore</dll><classname>FloatToUShortGadget</classname><property name="intensity_offset" value="0"/></gadget>
    </purestream></parallelprocess></stream></configuration>`;
  const out = await run(xml, [floatImage(0, 5), floatImage(0, 6), floatImage(0, 7)]);
  assert.deepEqual(out.map((m) => (m as Image).data[0]), [5, 6, 7]);
});
