/**
 * `gantry recon IN OUT` end to end: the file is read in blocks on a worker
 * thread and reconstructed in-process; the images must match the reference
 * implementation's (ismrmrd_recon_cartesian_2d) and every repetition must be
 * there. stderr carries only the summary line when it is not a terminal, and
 * a progress bar when it is (run under `script`, which gives it a pty).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { DataType } from '../../src/ismrmrd/types.js';
import { GANTRY_BIN, runGantry } from '../helpers/gantry-process.js';
import { hasTool, missing } from '../helpers/tools.js';
import { nrmse, scaleRatio } from '../helpers/reference-recon.js';

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan', 'ismrmrd_recon_cartesian_2d']);

test('gantry recon matches ismrmrd_recon_cartesian_2d and prints no progress without a terminal', { skip, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-recon-'));
  try {
    const input = join(dir, 'sl.h5');
    // 3 repetitions of 16 coils: several read blocks (8 MiB each) per file.
    execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', input, '-m', '256', '-c', '16', '-r', '3'], { stdio: 'ignore' });
    const out = join(dir, 'out.h5');
    const run = await runGantry(['recon', '--no-storage', input, out, '-c', 'default.xml'], 120_000);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, `gantry recon: 3 images written to ${out}\n`);

    const result = IsmrmrdFile.open(out, 'default.xml', { readOnly: true });
    const images = result.readImages('image_0');
    result.close();
    assert.deepEqual(images.map((i) => i.head.repetition), [0, 1, 2]);
    assert.ok(images.every((i) => i.head.data_type === DataType.FLOAT));

    const refFile = join(dir, 'ref.h5');
    copyFileSync(input, refFile);
    execFileSync('ismrmrd_recon_cartesian_2d', [refFile], { stdio: 'ignore' });
    const ref = IsmrmrdFile.open(refFile, 'dataset', { readOnly: true });
    const cpp = ref.readImages('cpp')[0];
    ref.close();
    assert.ok(cpp, 'ismrmrd_recon_cartesian_2d wrote /dataset/cpp');
    const norm = 1 / Math.sqrt(2 * 256 * 256);
    const cppPixels = Array.from(cpp.data as Float32Array, (v) => v * norm);
    // Each repetition has its own noise; the reference keeps the last repetition's lines.
    const last = Array.from(images[2]?.data as Float32Array);
    const err = nrmse(last, cppPixels);
    t.diagnostic(`NRMSE against ismrmrd_recon_cartesian_2d ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, `NRMSE ${err}`);
    assert.ok(Math.abs(scaleRatio(last, cppPixels) - 1) < 1e-3);
    for (const image of images.slice(0, 2)) {
      const e = nrmse(Array.from(image.data as Float32Array), last);
      assert.ok(e > 1e-4 && e < 0.2, `repetition ${image.head.repetition} differs from the last by its noise only (NRMSE ${e})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gantry recon shows a progress bar on a terminal', { skip: skip ?? (hasTool('script') ? undefined : 'needs script (bsdutils)'), timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-recon-tty-'));
  try {
    const input = join(dir, 'sl.h5');
    execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', input, '-m', '128', '-c', '4', '-r', '4'], { stdio: 'ignore' });
    const out = join(dir, 'out.h5');
    const command = [process.execPath, GANTRY_BIN, 'recon', '--no-storage', input, out].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8', timeout: 100_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    // The pty merges stdout and stderr: bar redraws (\r, never \n inside), then the summary line.
    assert.match(r.stdout, /\r\[[#-]+\] +\d+% \d+\/512 acquisitions, \d+ images?/);
    assert.match(r.stdout, /\r +\rgantry recon: 4 images written to /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
