/**
 * Measurement dependencies over real TCP with real `gantry serve` and
 * `gantry storage` processes: a noise measurement is sent with
 * default_measurement_dependencies.xml, then the imaging measurement that
 * names it as its Noise dependency is sent with a prewhitening chain, after
 * a server restart, to a second server sharing the folder, and through one
 * `gantry storage` service. Its images must equal a single-connection run.
 * Bad cases (missing, corrupt, unreachable, wrong channel count) give
 * warnings to the client and never stop the server.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image } from '../../src/ismrmrd/types.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import {
  isNoise, nrmseAfterScale, phantom, readImages, sendWithClient, startGantryStorage, withMeasurement, writeDataset,
  writePrewhiteningConfig, type StorageProcess,
} from './noise-fixtures.js';

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan']);
const NOISE_ID = '45160_88093439_88093444_1';
const SCAN_ID = '45160_88093439_88093444_2';
const COILS = ['Body_1:1:B1', 'Body_1:1:B2', 'Spine_1:1:S1', 'Spine_1:1:S2', 'Head_1:1:H1', 'Head_1:1:H2', 'Head_1:1:H3', 'Head_1:1:H4'];

function itemFiles(root: string): string[] {
  const items = join(root, 'items');
  return readdirSync(items).flatMap((d) => readdirSync(join(items, d)).map((f) => join(items, d, f)));
}

test('noise dependencies across connections, restarts and servers', { skip, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-deps-'));
  const servers: ServerProcess[] = [];
  const storages: StorageProcess[] = [];
  const start = async (args: string[]): Promise<ServerProcess> => {
    const s = await startGantryServer(args);
    servers.push(s);
    return s;
  };
  try {
    const config = writePrewhiteningConfig(dir);
    const ds = phantom(join(dir, 'sl.h5'), { matrix: 64, coils: 8 });
    const noise = ds.acquisitions.filter(isNoise);
    const imaging = ds.acquisitions.filter((a) => !isNoise(a));
    assert.ok(noise.length > 0 && imaging.length > 0);
    const noiseFile = writeDataset(join(dir, 'noise.h5'), { xml: withMeasurement(ds.xml, { measurementId: NOISE_ID, coilLabels: COILS }), acquisitions: noise });
    const scanFile = writeDataset(join(dir, 'scan.h5'), {
      xml: withMeasurement(ds.xml, { measurementId: SCAN_ID, noiseDependency: NOISE_ID, coilLabels: COILS }),
      acquisitions: imaging,
    });
    const singleFile = writeDataset(join(dir, 'single.h5'), { xml: withMeasurement(ds.xml, { measurementId: '45160_88093439_88093444_3', coilLabels: COILS }), acquisitions: ds.acquisitions });

    let run = 0;
    const images = async (server: ServerProcess, input: string, cfg: { name?: string; local?: string }): Promise<{ images: Image[]; stdout: string }> => {
      run += 1;
      const out = join(dir, `out${run}.h5`);
      const result = await sendWithClient(server.port, input, out, 'g', cfg);
      assert.equal(result.code, 0, result.stderr + result.stdout);
      let imgs: Image[] = [];
      try {
        imgs = readImages(out, 'g');
      } catch {
        imgs = [];
      }
      return { images: imgs, stdout: result.stdout };
    };
    const storeNoise = async (server: ServerProcess): Promise<string> => {
      const r = await images(server, noiseFile, { name: 'default_measurement_dependencies.xml' });
      assert.equal(r.images.length, 0, 'the dependency config sends no images');
      return r.stdout;
    };
    const compare = (got: Image[], want: Image[], label: string): void => {
      assert.equal(got.length, want.length, `${label}: image count`);
      got.forEach((img, k) => {
        const { nrmse, scale } = nrmseAfterScale(Array.from(img.data as Float32Array), Array.from((want[k] as Image).data as Float32Array));
        t.diagnostic(`${label}: image ${k} NRMSE ${nrmse.toExponential(2)} (scale ${scale.toFixed(7)}) against the single-connection run`);
        assert.ok(nrmse < 1e-5 && Math.abs(scale - 1) < 1e-5, `${label}: NRMSE ${nrmse}, scale ${scale}`);
      });
    };

    const folder = join(dir, 'store-restart');
    let single: Image[] = [];
    let unwhitened: Image[] = [];

    await t.test('stored by one server, used after a restart: same images as one connection', async () => {
      const first = await start(['--storage', folder]);
      const out = await storeNoise(first);
      assert.doesNotMatch(out, /WARNING/);
      await first.stop();
      assert.equal(itemFiles(folder).length, 1, 'one stored item');
      const second = await start(['--storage', folder]);
      single = (await images(second, singleFile, { local: config })).images;
      unwhitened = (await images(second, singleFile, { name: 'default.xml' })).images;
      assert.equal(single.length, 1);
      const scan = await images(second, scanFile, { local: config });
      assert.match(scan.stdout, new RegExp(`Querying the Gadgetron instance for the dependent measurement: ${NOISE_ID}`));
      assert.match(scan.stdout, /Noise level: Min sigma = [\d.e+-]+, Mean sigma = [\d.e+-]+, Max sigma = [\d.e+-]+/);
      assert.doesNotMatch(scan.stdout, /WARNING/);
      compare(scan.images, single, 'after restart');
      const plain = nrmseAfterScale(Array.from(scan.images[0]?.data as Float32Array), Array.from(unwhitened[0]?.data as Float32Array));
      assert.ok(Math.abs(plain.scale - 1) > 0.5, 'prewhitening did change the images (scale)');
      const listing = await runGantry(['client', '-a', '127.0.0.1', '-p', String(second.port), '-q', '-c', 'gtquery.xml', '-o', join(dir, 'deps.xml')]);
      assert.equal(listing.code, 0, listing.stderr);
      const { readFileSync } = await import('node:fs');
      assert.match(readFileSync(join(dir, 'deps.xml'), 'utf8'), new RegExp(`GadgetronNoiseCovarianceMatrix_${NOISE_ID}`));
      await second.stop();
    });

    await t.test('two servers sharing one folder', async () => {
      const shared = join(dir, 'store-shared');
      const [a, b] = await Promise.all([start(['--storage', shared]), start(['--storage', shared])]);
      await storeNoise(a as ServerProcess);
      const scan = await images(b as ServerProcess, scanFile, { local: config });
      assert.doesNotMatch(scan.stdout, /WARNING/);
      compare(scan.images, single, 'shared folder');
    });

    await t.test('two servers using one gantry storage service', async () => {
      const storage = await startGantryStorage(join(dir, 'store-service'));
      storages.push(storage);
      const [a, b] = await Promise.all([start(['--storage-url', storage.url]), start(['--storage-url', storage.url])]);
      await storeNoise(a as ServerProcess);
      const scan = await images(b as ServerProcess, scanFile, { local: config });
      assert.doesNotMatch(scan.stdout, /WARNING/);
      compare(scan.images, single, 'gantry storage');
      assert.match(storage.stderr(), /"msg":"dependency saved"/);
      assert.match(storage.stderr(), /"msg":"dependency loaded"/);
      assert.doesNotMatch(storage.stderr(), new RegExp(NOISE_ID), 'storage logs carry no measurement ids');
    });

    await t.test('a dependency that is not there: warnings naming it, images still made', async () => {
      const server = await start(['--storage', join(dir, 'store-empty')]);
      const orphan = writeDataset(join(dir, 'orphan.h5'), {
        xml: withMeasurement(ds.xml, { measurementId: SCAN_ID, noiseDependency: '45160_88093439_88093444_99', coilLabels: COILS }),
        acquisitions: imaging,
      });
      const r = await images(server, orphan, { local: config });
      assert.match(r.stdout, /WARNING: Dependent noise measurement not found on Gadgetron server\. Was the noise data processed\?/);
      assert.match(r.stdout, /\[Connection Main Thread\/[^\]]*NoiseAdjust\] WARNING: Noise dependency '45160_88093439_88093444_99' was not found/);
      assert.equal(r.images.length, 1);
      compare(r.images, unwhitened, 'missing dependency (unwhitened)');
    });

    await t.test('a corrupt or truncated stored blob: a warning, never a wrong image or a crash', async () => {
      const folderC = join(dir, 'store-corrupt');
      const server = await start(['--storage', folderC]);
      await storeNoise(server);
      const [file] = itemFiles(folderC);
      truncateSync(file as string, statSync(file as string).size - 100);
      const r = await images(server, scanFile, { local: config });
      assert.match(r.stdout, /WARNING: Cannot load the noise dependency '45160_88093439_88093444_1' from folder .*corrupt or truncated/);
      compare(r.images, unwhitened, 'corrupt blob (unwhitened)');
      const again = await images(server, singleFile, { local: config });
      compare(again.images, single, 'the server still works');
    });

    await t.test('an unreachable storage URL: warnings, the server stays up', async () => {
      const server = await start(['--storage-url', 'http://127.0.0.1:1']);
      assert.match(server.logs(), /dependency store unusable/);
      const stored = await storeNoise(server);
      assert.match(stored, /WARNING: Cannot store the noise covariance of measurement '45160_88093439_88093444_1' in http:\/\/127\.0\.0\.1:1: Cannot reach the storage server at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
      const r = await images(server, scanFile, { local: config });
      assert.match(r.stdout, /WARNING: Cannot load the noise dependency '45160_88093439_88093444_1' from http:\/\/127\.0\.0\.1:1: Cannot reach/);
      compare(r.images, unwhitened, 'unreachable storage (unwhitened)');
    });

    await t.test('a channel-count mismatch: a warning and unwhitened images', async () => {
      const folderM = join(dir, 'store-mismatch');
      const server = await start(['--storage', folderM]);
      await storeNoise(server);
      const four = phantom(join(dir, 'sl4.h5'), { matrix: 64, coils: 4 });
      const scan4 = writeDataset(join(dir, 'scan4.h5'), {
        xml: withMeasurement(four.xml, { measurementId: SCAN_ID, noiseDependency: NOISE_ID, coilLabels: COILS.slice(0, 4) }),
        acquisitions: four.acquisitions.filter((a) => !isNoise(a)),
      });
      const r = await images(server, scan4, { local: config });
      assert.match(r.stdout, /WARNING: The noise covariance from measurement 45160_88093439_88093444_1 is malformed|WARNING: Readouts with 4 channels do not match the noise covariance of measurement 45160_88093439_88093444_1 \(8 channels\)/);
      assert.equal(r.images.length, 1);
    });

    await t.test('without any store (--no-storage), a noise-only measurement says it was not stored', async () => {
      const server = await start(['--no-storage']);
      const out = await storeNoise(server);
      assert.match(out, /WARNING: The noise covariance of this measurement is not stored: this server runs without a dependency store/);
    });
  } finally {
    for (const s of servers) await s.stop();
    for (const s of storages) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gantry recon --parameter noisecovarianceout / noisecovariancein: file-based noise without a store', { skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-files-'));
  try {
    const config = writePrewhiteningConfig(dir);
    const ds = phantom(join(dir, 'sl.h5'), { matrix: 64, coils: 8 });
    const noiseFile = writeDataset(join(dir, 'noise.h5'), { xml: ds.xml, acquisitions: ds.acquisitions.filter(isNoise) });
    const scanFile = writeDataset(join(dir, 'scan.h5'), { xml: ds.xml, acquisitions: ds.acquisitions.filter((a) => !isNoise(a)) });
    const cov = join(dir, 'noise.sfndam');
    const first = await runGantry(['recon', '--no-storage', '-f', noiseFile, '-o', join(dir, 'n.h5'), '-c', 'default_measurement_dependencies.xml', '--parameter', `noisecovarianceout=${cov}`]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(statSync(cov).size > 42);
    const second = await runGantry(['recon', '--no-storage', '-f', scanFile, '-o', join(dir, 's.h5'), '-G', 'g', '-C', config, '--parameter', `noisecovariancein=${cov}`]);
    assert.equal(second.code, 0, second.stderr);
    const single = await runGantry(['recon', '--no-storage', '-f', join(dir, 'sl.h5'), '-o', join(dir, 'one.h5'), '-G', 'g', '-C', config]);
    assert.equal(single.code, 0, single.stderr);
    const got = readImages(join(dir, 's.h5'), 'g');
    const want = readImages(join(dir, 'one.h5'), 'g');
    const { nrmse, scale } = nrmseAfterScale(Array.from(got[0]?.data as Float32Array), Array.from(want[0]?.data as Float32Array));
    t.diagnostic(`noisecovariancein run vs single run: NRMSE ${nrmse.toExponential(2)}, scale ${scale.toFixed(7)}`);
    assert.ok(nrmse < 1e-5 && Math.abs(scale - 1) < 1e-5);
    const bad = await runGantry(['recon', '--no-storage', '-f', scanFile, '-o', join(dir, 'x.h5'), '-C', config, '--parameter', `noisecovariancein=${join(dir, 'absent')}`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Cannot read the noise covariance file .*absent/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
