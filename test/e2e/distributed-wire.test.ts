/**
 * End to end over real TCP: the Gadgetron wire formats that the shipped
 * configs do not send through a worker — acquisition buckets (1050) and
 * image arrays (1024) coming back from a Gantry worker — in two version 2
 * configs sent as scripts: distributed_default.xml with the node boundary
 * moved so that the worker returns buckets, or image arrays. (Recon buffers
 * (1023) go to workers in distributed_generic_default.xml, covered by
 * distributed-configs.) The images are bit-identical to distributed_default
 * on a single node: the round trip through the wire loses nothing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { address, assertSameImages, errorTexts, jobRecords, makeScan, reconstruct, type Scan } from './distributed-fixtures.js';

const gadget = (name: string, properties: Record<string, string> = {}): string =>
  `<gadget><dll>gadgetron_mricore</dll><classname>${name}</classname>${Object.entries(properties).map(([k, v]) => `<property name="${k}" value="${v}"/>`).join('')}</gadget>`;
const io = (kind: 'reader' | 'writer', name: string): string => `<${kind}><dll>gadgetron_mricore</dll><classname>${name}</classname></${kind}>`;

const REMOVE_OS = gadget('RemoveROOversamplingGadget');
const ACCUMULATE = gadget('AcquisitionAccumulateTriggerGadget', { trigger_dimension: 'repetition', sorting_dimension: 'slice' });
const TO_BUFFER = gadget('BucketToBufferGadget', { N_dimension: '', S_dimension: '', split_slices: 'true' });
const RECON = gadget('SimpleReconGadget');
const SPLIT = gadget('ImageArraySplitGadget');
const AFTER = gadget('ExtractGadget') + gadget('ImageSortGadget', { sorting_dimension: 'repetition' }) + gadget('ImageIndexGadget');

/** distributed_default.xml with `inner` on the workers, `outer` after the node, and the node reading/writing `wire` too. */
function config(wire: { reader: string; writer: string }, inner: string, outer: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <version>2</version>
  <readers>${io('reader', 'GadgetIsmrmrdAcquisitionMessageReader')}</readers>
  <writers>${io('writer', 'MRIImageWriter')}</writers>
  <stream key="wire">
    <distributed>
      <readers>${io('reader', wire.reader)}${io('reader', 'GadgetIsmrmrdAcquisitionMessageReader')}</readers>
      <writers>${io('writer', wire.writer)}${io('writer', 'GadgetIsmrmrdAcquisitionMessageWriter')}</writers>
      <distributor><dll>gadgetron_core_distributed</dll><classname>AcquisitionDistributor</classname><property name="parallel_dimension" value="repetition"/></distributor>
      <stream key="worker">${inner}</stream>
    </distributed>
    ${outer}
  </stream>
</configuration>
`;
}

const VARIANTS = [
  {
    name: 'buckets (1050) back from the worker',
    xml: config({ reader: 'AcquisitionBucketReader', writer: 'AcquisitionBucketWriter' }, REMOVE_OS + ACCUMULATE, TO_BUFFER + RECON + SPLIT + AFTER),
  },
  {
    name: 'image arrays (1024) back from the worker',
    xml: config({ reader: 'IsmrmrdImageArrayReader', writer: 'IsmrmrdImageArrayWriter' }, REMOVE_OS + ACCUMULATE + TO_BUFFER + RECON, SPLIT + AFTER),
  },
];

test('buckets and image arrays cross to and from a worker in the Gadgetron wire format without loss', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-wire-'));
  const servers: ServerProcess[] = [];
  t.after(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  assert.match(readFileSync(join(REPO_ROOT, 'config', 'distributed_default.xml'), 'utf8'), /AcquisitionDistributor[\s\S]*RemoveROOversamplingGadget[\s\S]*SimpleReconGadget/);
  const scan: Scan = await makeScan(dir, ['--matrix', '64', '--slices', '2', '--phases', '2', '--repetitions', '2', '--coils', '4']);
  const [single, worker] = await Promise.all([startGantryServer(), startGantryServer()]) as [ServerProcess, ServerProcess];
  servers.push(single, worker);
  const reference = await reconstruct(single.port, 'distributed_default.xml', scan);
  assert.deepEqual(errorTexts(reference), []);
  const gateway = await startGantryServer(['--workers', address(worker.port)]);
  servers.push(gateway);

  for (const variant of VARIANTS) {
    const local = await reconstruct(single.port, variant.xml, scan);
    assert.deepEqual(errorTexts(local), [], `${variant.name}, single node`);
    assertSameImages(local.images, reference.images, `${variant.name}, single node`);
    const before = jobRecords(gateway).length;
    const result = await reconstruct(gateway.port, variant.xml, scan);
    assert.deepEqual(errorTexts(result), [], variant.name);
    assert.deepEqual(result.texts.filter((x) => /WARNING/.test(x)), [], `${variant.name}: unexpected warnings`);
    assertSameImages(result.images, reference.images, variant.name);
    const records = jobRecords(gateway).slice(before).filter((r) => r.outcome === 'ok');
    assert.equal(records.length, 2, `${variant.name}: ${JSON.stringify(records)}`);
    assert.ok(records.every((r) => r.worker === address(worker.port) && r.messagesOut > 0 && (r.bytesReceived ?? 0) > 0), `${variant.name}: ${JSON.stringify(records)}`);
  }
});
