import test from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, SUBCOMMAND_NAMES, subcommandsFor } from './main.js';

test('gantry builds only the subcommand it runs: none for --version, all for help and unknown names', () => {
  const argv = (...args: string[]): string[] => ['node', 'gantry', ...args];
  assert.deepEqual(subcommandsFor(argv('recon', 'in.h5', 'out.h5')), ['recon']);
  assert.deepEqual(subcommandsFor(argv('serve', '--help')), ['serve']);
  assert.deepEqual(subcommandsFor(argv('--version')), []);
  assert.deepEqual(subcommandsFor(argv('-V')), []);
  for (const all of [argv(), argv('--help'), argv('help', 'recon'), argv('bogus')]) assert.equal(subcommandsFor(all), undefined);
});

test('a subcommand built alone has the same help as in the whole tree, and the tree lists every subcommand in order', async () => {
  const full = await buildProgram();
  assert.deepEqual(full.commands.map((c) => c.name()), [...SUBCOMMAND_NAMES]);
  for (const name of SUBCOMMAND_NAMES) {
    const alone = await buildProgram([name]);
    assert.deepEqual(alone.commands.map((c) => c.name()), [name]);
    const help = (p: typeof full): string => p.commands.find((c) => c.name() === name)?.helpInformation() ?? '';
    assert.ok(help(full).startsWith(`Usage: gantry ${name}`), name);
    assert.equal(help(alone), help(full), `${name} --help`);
  }
  assert.equal((await buildProgram([])).commands.length, 0);
});
