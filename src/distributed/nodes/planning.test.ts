import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStreamConfiguration, shippedConfigDir } from '../../config/index.js';
import { PipelineBuildError } from '../../engine/errors.js';
import type { StepPlan } from '../../engine/pipeline.js';
import { echoDistributedConfig, echoPureConfig, planText } from './testing.js';

function shipped(name: string): StepPlan[] {
  return [...planText(readFileSync(join(shippedConfigDir(), name), 'utf8')).chain.steps];
}

test('the Cloud config runs AccTrig … ImageArraySplit on workers, one job per slice, here only as a last resort', () => {
  const steps = shipped('Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml');
  const names = steps.map((s) => (s.type === 'gadget' ? s.name : s.type));
  assert.deepEqual(names, ['NoiseAdjust', 'AsymmetricEcho', 'RemoveROOversampling', 'distributed', 'ComplexToFloat', 'FloatToUShort', 'ImageFinish']);
  const node = steps[3];
  assert.ok(node?.type === 'distributed');
  assert.deepEqual(node.distributorProperties, { parallel_dimension: 'slice' });
  assert.equal(node.lanes, 'sequential');
  assert.equal(node.useLocal, false);
  assert.deepEqual(node.inner.steps.map((s) => (s.type === 'gadget' ? s.name : s.type)),
    ['AccTrig', 'BucketToBuffer', 'PrepRef', 'CoilCompression', 'Recon', 'PartialFourierHandling', 'KSpaceFilter', 'FOVAdjustment', 'Scaling', 'ImageArraySplit']);
  assert.deepEqual([...node.link.readerIds].sort(), [1008, 1022, 1026]);
  assert.ok(node.link.writerKinds.has('acquisition'));
  const worker = parseStreamConfiguration(node.workerConfig);
  assert.equal(worker.format, 'v2');
  const gadgets = worker.stream.nodes.map((n) => (n.type === 'gadget' ? n.classname : n.type));
  assert.equal(gadgets[0], 'AcquisitionAccumulateTriggerGadget');
  assert.equal(gadgets.at(-1), 'ImageArraySplitGadget');
  assert.ok(!gadgets.includes('IsmrmrdAcquisitionDistributeGadget') && !gadgets.includes('CollectGadget'));
  assert.ok(!/<slot>/.test(node.workerConfig), 'slots are forwarded to workers');
});

test('the shipped v2 distributed configs plan their nodes', () => {
  const d = shipped('distributed_default.xml')[0];
  assert.ok(d?.type === 'distributed' && d.distributor.name === 'AcquisitionDistributor' && d.distributorProperties['parallel_dimension'] === 'repetition' && d.lanes === 'until-end');
  const g = shipped('distributed_generic_default.xml')[3];
  assert.ok(g?.type === 'distributed' && g.distributor.name === 'BufferDistributor');
  assert.ok(g.link.writerKinds.has('recondata') && g.link.readerIds.has(1022));
  const p = shipped('distributed_image_default.xml')[5];
  assert.ok(p?.type === 'puredistributed');
  assert.match(p.workerConfig, /<stream key="PureStream">/);
});

function planError(xml: string): PipelineBuildError {
  try {
    planText(xml);
  } catch (err) {
    assert.ok(err instanceof PipelineBuildError, String(err));
    return err;
  }
  assert.fail('planned');
}

test('distributed nodes with unknown distributors, readers, writers or properties are refused at load time', () => {
  assert.match(planError(echoDistributedConfig().replace('<classname>AcquisitionDistributor', '<classname>NoSuchDistributor')).message,
    /unknown distributor class 'NoSuchDistributor' at line 9/);
  assert.match(planError(echoDistributedConfig('colour')).message, /property 'parallel_dimension' of distributor 'AcquisitionDistributor' at line 9: expected one of/);
  assert.match(planError(echoDistributedConfig().replace(/<writers><writer><dll>x<\/dll><classname>AcquisitionWriter<\/classname><\/writer><\/writers>\n      <distributor>/, '<writers><writer><dll>x</dll><classname>MRIImageWriter</classname></writer></writers>\n      <distributor>')).message,
    /<distributed> at line 6 has no writer for acquisition messages/);
  assert.match(planError(echoPureConfig().replace(/<readers><reader><dll>x<\/dll><classname>AcquisitionReader<\/classname><\/reader><\/readers>\n      <writers>/, '<readers><reader><dll>x</dll><classname>Nope</classname></reader></readers>\n      <writers>')).message,
    /unknown reader class 'Nope'.*<puredistributed> at line 6/);
});

test('a legacy Distribute gadget without its collector, or with an unknown property, is refused', () => {
  const v1 = (props: string, collect = true): string => `<?xml version="1.0"?>
<gadgetronStreamConfiguration>
  <reader><slot>1008</slot><dll>x</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname></reader>
  <writer><slot>1008</slot><dll>x</dll><classname>GadgetIsmrmrdAcquisitionMessageWriter</classname></writer>
  <gadget><name>Distribute</name><dll>gadgetron_distributed</dll><classname>IsmrmrdAcquisitionDistributeGadget</classname>${props}</gadget>
  ${collect ? '<gadget><name>Gather</name><dll>gadgetron_distributed</dll><classname>CollectGadget</classname></gadget>' : ''}
</gadgetronStreamConfiguration>`;
  assert.match(planError(v1('')).message, /gadget 'Distribute' \(IsmrmrdAcquisitionDistributeGadget\) at line 5 has no collector gadget named 'Collect' after it/);
  assert.match(planError(v1('<property><name>colour</name><value>x</value></property>')).message, /property 'colour' at line 5 is not a property of IsmrmrdAcquisitionDistributeGadget/);
  const plan = planText(v1('<property><name>collector</name><value>Gather</value></property><property><name>single_package_mode</name><value>true</value></property>'));
  const step = plan.chain.steps[0];
  assert.ok(step?.type === 'distributed' && step.lanes === 'single-message' && step.useLocal === true);
});
