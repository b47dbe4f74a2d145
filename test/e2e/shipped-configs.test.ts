/**
 * Every shipped config loads and runs end to end through `gantry serve`,
 * and the is-alive check (config isalive.xml, then CLOSE) is answered.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { DataType } from '../../src/ismrmrd/types.js';
import { REPO_ROOT, runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan']);
const configs = readdirSync(join(REPO_ROOT, 'config')).filter(
  (f) => f.endsWith('.xml') && f.startsWith('default') && f !== 'default_measurement_dependencies.xml',
);

test('shipped default configs run end to end', { skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-configs-'));
  let server: ServerProcess | undefined;
  try {
    server = await startGantryServer();
    const input = join(dir, 'sl.h5');
    execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', input, '-m', '64', '-r', '2', '-C'], { stdio: 'ignore' });
    for (const config of configs) {
      await t.test(config, async () => {
        const out = join(dir, `${config}.h5`);
        const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String((server as ServerProcess).port), '-f', input, '-o', out, '-G', config, '-c', config]);
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const f = IsmrmrdFile.open(out, config);
        const names = f.imageSeriesNames();
        const images = names.flatMap((n) => f.readImages(n));
        f.close();
        assert.ok(images.length >= 2, `${config} produced ${images.length} images`);
        for (const image of images) {
          assert.deepEqual(image.head.matrix_size, [64, 64, 1]);
          assert.ok([DataType.FLOAT, DataType.USHORT].includes(image.head.data_type as 5 | 1));
        }
      });
    }
    await t.test('isalive.xml answers with CLOSE', async () => {
      const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String((server as ServerProcess).port), '-q', '-c', 'isalive.xml', '-o', join(dir, 'alive.xml')]);
      assert.equal(run.code, 0, run.stderr + run.stdout);
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
