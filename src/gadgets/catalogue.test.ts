import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import test from 'node:test';
import { parseStreamConfiguration } from '../config/index.js';
import { loadStreamConfiguration, shippedConfigDir } from '../config/config-files.js';
import { planPipeline } from '../engine/pipeline.js';
import { gadgetCatalogue, lazyDefaultRegistry } from './catalogue.js';
import { allGadgets, defaultRegistry } from './index.js';

test('the catalogue lists every shipped gadget, in order, under the class names of its definition', async () => {
  const loaded = await Promise.all(gadgetCatalogue.map((entry) => entry.load()));
  assert.deepEqual(loaded, [...allGadgets], 'same definitions (same objects) in the same order as allGadgets');
  for (const [i, entry] of gadgetCatalogue.entries()) {
    assert.deepEqual([...entry.classNames], [...(loaded[i]?.classNames ?? [])], `class names of ${loaded[i]?.name}`);
  }
  assert.deepEqual(lazyDefaultRegistry().gadgetClassNames(), defaultRegistry().gadgetClassNames());
});

test('the lazy registry plans every shipped config as the eager one does', async () => {
  const files = (await readdir(shippedConfigDir())).filter((f) => f.endsWith('.xml')).sort();
  assert.ok(files.length > 5);
  for (const file of files) {
    const { config } = await loadStreamConfiguration(file, [shippedConfigDir()]);
    const lazy = lazyDefaultRegistry();
    await lazy.loadFor(config);
    let eagerPlan: unknown;
    let eagerError: unknown;
    try {
      eagerPlan = planPipeline(config, defaultRegistry());
    } catch (err) {
      eagerError = err;
    }
    if (eagerError) assert.throws(() => planPipeline(config, lazy), { message: (eagerError as Error).message }, file);
    else assert.deepEqual(planPipeline(config, lazy), eagerPlan, file);
  }
});

test('a config loads only the gadget modules it names', async () => {
  const registry = lazyDefaultRegistry();
  const config = parseStreamConfiguration([
    '<configuration><version>2</version><stream>',
    '<gadget><dll>gadgetron_mricore</dll><classname>ExtractGadget</classname></gadget>',
    '<gadget><dll>x</dll><classname>NoSuchGadget</classname></gadget>',
    '</stream></configuration>',
  ].join(''));
  await registry.loadFor(config);
  assert.equal(registry.gadget('ExtractGadget')?.name, 'ExtractGadget');
  assert.equal(registry.gadget('NoSuchGadget'), undefined);
  assert.throws(() => registry.gadget('SimpleReconGadget'), /SimpleReconGadget: its module is not loaded yet/);
});
