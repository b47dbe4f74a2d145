/**
 * End to end over real TCP: `gantry client -c default.xml` sends phantom data
 * from ismrmrd_generate_cartesian_shepp_logan to `gantry serve`; the images
 * must match an independent float64 reconstruction and the reference
 * implementation's own recon (ismrmrd_recon_cartesian_2d).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { DataType, ImageType } from '../../src/ismrmrd/types.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { kspaceOfRepetition } from '../helpers/kspace-from-file.js';
import { nrmse, referenceRecon, scaleRatio } from '../helpers/reference-recon.js';

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan', 'ismrmrd_recon_cartesian_2d', 'h5dump']);

test('default.xml over TCP matches independent reconstructions', { skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-e2e-'));
  let server: ServerProcess | undefined;
  try {
    server = await startGantryServer();
    for (const matrix of [128, 256]) {
      await t.test(`matrix ${matrix}, 8 coils, oversampling 2, 2 repetitions`, async () => {
        const input = join(dir, `sl${matrix}.h5`);
        execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', input, '-m', String(matrix), '-c', '8', '-O', '2', '-r', '2', '-C'], { stdio: 'ignore' });
        const out = join(dir, `out${matrix}.h5`);
        const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String((server as ServerProcess).port), '-f', input, '-o', out, '-G', 'default.xml', '-c', 'default.xml']);
        assert.equal(run.code, 0, `client failed: ${run.stderr}${run.stdout}`);

        const result = IsmrmrdFile.open(out, 'default.xml');
        const images = result.readImages('image_0');
        result.close();
        assert.equal(images.length, 2, 'one image per repetition');

        for (const [r, image] of images.entries()) {
          const h = image.head;
          assert.equal(h.data_type, DataType.FLOAT);
          assert.equal(h.image_type, ImageType.MAGNITUDE);
          assert.deepEqual(h.matrix_size, [matrix, matrix, 1]);
          assert.equal(h.channels, 1);
          assert.equal(h.slice, 0);
          assert.equal(h.repetition, r);
          assert.equal(h.image_series_index, 0);
          assert.equal(h.image_index, r + 1);
          assert.deepEqual(h.field_of_view.map((v) => Math.round(v)), [300, 300, 6]);

          const k = kspaceOfRepetition(input, r);
          const reference = referenceRecon(k.data, k.ro, k.e1, k.coils, matrix);
          const pixels = Array.from(image.data as Float32Array);
          const err = nrmse(pixels, reference);
          const scale = scaleRatio(pixels, reference);
          t.diagnostic(`matrix ${matrix} repetition ${r}: NRMSE ${err.toExponential(2)}, scale ${scale.toFixed(6)}`);
          assert.ok(err < 1e-5, `NRMSE ${err} against the float64 reference`);
          assert.ok(Math.abs(scale - 1) < 1e-3, `absolute scale ${scale}`);
        }

        // The reference implementation's recon of the same file (the last repetition's lines win).
        const refFile = join(dir, `ref${matrix}.h5`);
        copyFileSync(input, refFile);
        execFileSync('ismrmrd_recon_cartesian_2d', [refFile], { stdio: 'ignore' });
        const ref = IsmrmrdFile.open(refFile);
        const cpp = ref.readImages('cpp')[0];
        ref.close();
        assert.ok(cpp, 'ismrmrd_recon_cartesian_2d wrote /dataset/cpp');
        const norm = 1 / Math.sqrt(2 * matrix * matrix);
        const cppPixels = Array.from(cpp.data as Float32Array, (v) => v * norm);
        const last = Array.from(images[1]?.data as Float32Array);
        const err = nrmse(last, cppPixels);
        t.diagnostic(`matrix ${matrix}: NRMSE against ismrmrd_recon_cartesian_2d ${err.toExponential(2)}`);
        assert.ok(err < 1e-5, `NRMSE ${err} against ismrmrd_recon_cartesian_2d`);
        assert.ok(Math.abs(scaleRatio(last, cppPixels) - 1) < 1e-3);
      });
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
