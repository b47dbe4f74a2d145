import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { invalidNameReason, loadStreamConfiguration, resolveConfigName, shippedConfigDir } from './config-files.js';
import { ConfigError } from './errors.js';
import { MAX_CONFIG_LENGTH } from './stream-config.js';

const EMPTY = '<gadgetronStreamConfiguration/>';

async function withDirs(run: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'gantry-config-'));
  try {
    await run(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

test('shippedConfigDir finds the repository config folder with every shipped config', async () => {
  const dir = shippedConfigDir();
  assert.ok(existsSync(join(dir, 'README.md')), dir);
  const names = await readdir(dir);
  for (const name of ['default.xml', 'default_short.xml', 'default_optimized.xml', 'isalive.xml']) assert.ok(names.includes(name), name);
});

test('every shipped config loads and has the documented pipeline', async () => {
  const dirs = [shippedConfigDir()];
  const chain = async (name: string): Promise<string[]> => {
    const { config } = await loadStreamConfiguration(name, dirs, {});
    return config.stream.nodes.map((node) => (node.type === 'gadget' ? node.classname : node.type));
  };
  const core = ['RemoveROOversamplingGadget', 'AcquisitionAccumulateTriggerGadget', 'BucketToBufferGadget', 'SimpleReconGadget', 'ImageArraySplitGadget', 'ExtractGadget'];
  assert.deepEqual(await chain('default.xml'), [...core, 'ImageFinishGadget']);
  assert.deepEqual(await chain('default_short.xml'), [...core, 'AutoScaleGadget', 'FloatToUShortGadget', 'ImageFinishGadget']);
  assert.deepEqual(await chain('default_optimized.xml'), [...core, 'ImageFinishGadget']);
  assert.deepEqual(await chain('isalive.xml'), []);

  const { config } = await loadStreamConfiguration('default.xml', dirs, {});
  assert.equal(config.format, 'v2');
  assert.deepEqual(config.readers.map((r) => [r.classname, r.slot]), [
    ['GadgetIsmrmrdAcquisitionMessageReader', 1008], ['GadgetIsmrmrdWaveformMessageReader', 1026],
  ]);
  assert.deepEqual(config.writers.map((w) => w.classname), ['MRIImageWriter']);
  const props = (index: number): Record<string, string> => {
    const node = config.stream.nodes[index];
    assert.ok(node?.type === 'gadget');
    return Object.fromEntries(node.properties.map((p) => [p.name, p.value]));
  };
  assert.deepEqual(props(1), { trigger_dimension: 'repetition', sorting_dimension: 'slice' });
  assert.deepEqual(props(2), { N_dimension: '', S_dimension: '', split_slices: 'true' });
  assert.equal((await loadStreamConfiguration('default_optimized.xml', dirs, {})).config.format, 'v1');
});

test('resolveConfigName searches the folders in order', async () => {
  await withDirs(async (root) => {
    const user = join(root, 'user');
    const shipped = join(root, 'shipped');
    await mkdir(user);
    await mkdir(shipped);
    await writeFile(join(shipped, 'a.xml'), 'shipped a');
    await writeFile(join(shipped, 'b.xml'), 'shipped b');
    await writeFile(join(user, 'a.xml'), 'user a');
    await mkdir(join(user, 'b.xml'));
    assert.equal((await resolveConfigName('a.xml', [user, shipped], {})).xml, 'user a');
    assert.equal((await resolveConfigName('b.xml', [user, shipped], {})).xml, 'shipped b', 'a folder of that name is skipped');
    assert.equal((await resolveConfigName('a.xml', [join(root, 'missing'), shipped], {})).path, join(shipped, 'a.xml'));
  });
});

test('resolveConfigName substitutes an environment variable of exactly that name, without revealing it', async () => {
  await withDirs(async (root) => {
    await writeFile(join(root, 'real.xml'), EMPTY);
    const found = await resolveConfigName('MY_RECON', [root], { MY_RECON: 'real.xml' });
    assert.equal(found.xml, EMPTY);
    await rejectsWith(resolveConfigName('my_recon', [root], { MY_RECON: 'real.xml' }), 'CONFIG_NOT_FOUND', /'my_recon'/);
    await rejectsWith(resolveConfigName('SECRET', [root], { SECRET: 'hunter2' }), 'CONFIG_NOT_FOUND',
      /^Cannot load config 'SECRET' \(named by the environment variable of that name\): no such config in /);
    await assert.rejects(resolveConfigName('SECRET', [root], { SECRET: 'hunter2' }), (err: Error) => !err.message.includes('hunter2'));
    await rejectsWith(resolveConfigName('HOME', [root], { HOME: '/root' }), 'CONFIG_NAME', /may not contain paths/);
  });
});

test('resolveConfigName refuses names that are not plain file names', async () => {
  await withDirs(async (root) => {
    await rejectsWith(resolveConfigName('a/../../etc/passwd', [root], {}), 'CONFIG_NAME',
      /^Cannot load config 'a\/..\/..\/etc\/passwd': config names may not contain paths$/);
    const cases: Array<[string, RegExp]> = [
      ['', /may not be empty/],
      ['/etc/passwd', /may not contain paths/],
      ['..', /may not contain paths/],
      ['a..b.xml', /may not contain paths/],
      ['sub\\default.xml', /may not contain paths/],
      ['default.xml\u0000.txt', /control characters/],
      ['line\nbreak.xml', /control characters/],
      ['.hidden.xml', /may not start with '.'/],
      ['x'.repeat(256), /at most 255 bytes/],
      ['é'.repeat(128), /at most 255 bytes/],
    ];
    for (const [name, pattern] of cases) await rejectsWith(resolveConfigName(name, [root], {}), 'CONFIG_NAME', pattern);
    await assert.rejects(resolveConfigName('line\nbreak.xml', [root], {}), (err: Error) => err.message.includes("'line\\x0abreak.xml'"));
    assert.equal(invalidNameReason('default.xml'), undefined);
    assert.equal(invalidNameReason('x'.repeat(255)), undefined);
  });
});

test('resolveConfigName reports a config that is nowhere to be found', async () => {
  await withDirs(async (root) => {
    await rejectsWith(resolveConfigName('x.xml', [root, join(root, 'other')], {}), 'CONFIG_NOT_FOUND',
      new RegExp(`^Cannot load config 'x.xml': no such config in ${root}, ${join(root, 'other')}$`));
    await rejectsWith(resolveConfigName('x.xml', [], {}), 'CONFIG_NOT_FOUND', /no config folder is configured/);
  });
});

test('resolveConfigName refuses symbolic links that leave the config folder', async () => {
  await withDirs(async (root) => {
    const dir = join(root, 'configs');
    await mkdir(dir);
    await writeFile(join(root, 'secret.xml'), EMPTY);
    await writeFile(join(dir, 'inside.xml'), EMPTY);
    await symlink(join(root, 'secret.xml'), join(dir, 'escape.xml'));
    await symlink('inside.xml', join(dir, 'alias.xml'));
    await symlink(join(root, 'nothing.xml'), join(dir, 'dangling.xml'));
    await rejectsWith(resolveConfigName('escape.xml', [dir], {}), 'CONFIG_ACCESS', /resolves to a path outside that folder/);
    assert.equal((await resolveConfigName('alias.xml', [dir], {})).path, join(dir, 'inside.xml'), 'links inside the folder are fine');
    await rejectsWith(resolveConfigName('dangling.xml', [dir], {}), 'CONFIG_NOT_FOUND', /no such config/);
    const linkedDir = join(root, 'linked');
    await symlink(dir, linkedDir);
    assert.equal((await resolveConfigName('inside.xml', [linkedDir], {})).xml, EMPTY, 'the config folder itself may be a link');
  });
});

test('resolveConfigName refuses files over the size limit', async () => {
  await withDirs(async (root) => {
    await writeFile(join(root, 'huge.xml'), Buffer.alloc(MAX_CONFIG_LENGTH + 1, 0x20));
    await rejectsWith(resolveConfigName('huge.xml', [root], {}), 'CONFIG_LIMIT', /the limit is 4194304/);
  });
});

test('loadStreamConfiguration names the config in parse errors', async () => {
  await withDirs(async (root) => {
    await writeFile(join(root, 'bad.xml'), '<configuration>\n<version>2</version>\n<stream>\n<gadget/>\n</stream>\n</configuration>');
    await rejectsWith(loadStreamConfiguration('bad.xml', [root], {}), 'CONFIG_STRUCTURE',
      /^Cannot load config 'bad.xml': <gadget> at line 4 has no <dll>$/);
  });
});
