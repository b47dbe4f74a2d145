import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerPhantomCommand } from '../cli/phantom.js';
import { IsmrmrdFile } from '../formats/index.js';
import { parseIsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { missingPrerequisite, tempDir } from './testing.js';

function program(): Command {
  const p = new Command('gantry').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerPhantomCommand(p);
  p.commands.forEach((c) => c.exitOverride());
  return p;
}

test('gantry phantom parses its flags into generator options', async (t) => {
  const why = missingPrerequisite();
  if (why) return t.skip(why);
  const tmp = tempDir();
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const out = join(tmp.dir, 'cli.h5');
    await program().parseAsync([
      'phantom', '-o', out, '--matrix', '32', '--pe', '24', '--coils', '3', '--slices', '2', '--phases', '2', '--accel', '2',
      '--acs', '8', '--acs-mode', 'separate', '--partial-fourier', '0.9', '--asymmetric-echo', '0.8', '--noise-scans', '2',
      '--noise', '0.01', '--coil-correlation', '0.4', '--repetitions', '2', '--seed', '11', '--oversampling', '2',
    ], { from: 'user' });
    const f = IsmrmrdFile.open(out, '/dataset', { readOnly: true });
    try {
      const h = parseIsmrmrdHeader(f.readHeader() ?? '');
      const opts = JSON.parse(h.userParameters?.userParameterString[0]?.value ?? '{}') as Record<string, unknown>;
      assert.deepEqual(opts, {
        matrix: 32, pe: 24, coils: 3, slices: 2, phases: 2, e2: 1, oversampling: 2, accel: 2, accelE2: 1, acs: 8,
        acsMode: 'separate', partialFourier: 0.9, asymmetricEcho: 0.8, noiseScans: 2, noise: 0.01, coilCorrelation: 0.4,
        repetitions: 2, seed: 11,
      });
      assert.equal(h.encoding[0].parallelImaging?.calibrationMode, 'separate');
      assert.ok(f.acquisitionCount() > 2);
    } finally {
      f.close();
    }
    assert.match(writes.join(''), /gantry phantom: wrote \d+ readouts/);
    await assert.rejects(program().parseAsync(['phantom', '-o', out], { from: 'user' }), /exists/);
    await program().parseAsync(['phantom', '-o', out, '--force', '--matrix', '16'], { from: 'user' });
  } finally {
    process.stderr.write = original;
    tmp.remove();
  }
});

test('gantry phantom rejects out-of-range flags', async () => {
  for (const args of [['--partial-fourier', '0.4'], ['--acs-mode', 'external'], ['--coils', '0'], ['--noise', '-1'], ['--matrix', '12.5']]) {
    await assert.rejects(program().parseAsync(['phantom', '-o', 'never.h5', ...args], { from: 'user' }), args.join(' '));
  }
  await assert.rejects(program().parseAsync(['phantom'], { from: 'user' }), /required option/);
});
