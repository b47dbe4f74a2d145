/**
 * Batch modes: `gantry chris IN_DIR OUT_DIR` (ChRIS ds plugin) on a folder
 * with a noise and an imaging measurement gives the same images as the
 * server path (noise stored by one connection, used by the next); its report,
 * failure exit and `--json` descriptor; `gantry recon IN OUT --format
 * dicom|png` folders whose DICOM pixels equal the HDF5 images.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { readDicom } from '../../src/formats/dicom.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import type { ChrisReport } from '../../src/cli/chris.js';
import { isNoise, nrmseAfterScale, phantom, prewhiteningConfig, readImages, sendWithClient, withMeasurement, writeDataset } from './noise-fixtures.js';

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan']);
const NOISE_ID = '45160_88093439_88093444_1';
const SCAN_ID = '45160_88093439_88093444_2';

test('gantry chris and gantry recon --format', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-chris-'));
  let server: ServerProcess | undefined;
  try {
    const configDir = join(dir, 'configs');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'prewhitening.xml'), prewhiteningConfig());
    const input = join(dir, 'incoming');
    mkdirSync(join(input, 'sub'), { recursive: true });
    const ds = phantom(join(dir, 'sl.h5'), { matrix: 64, coils: 4 });
    // Named so that the imaging file sorts first: the plugin must still take the noise first.
    const scanFile = writeDataset(join(input, 'a_scan.h5'), {
      xml: withMeasurement(ds.xml, { measurementId: SCAN_ID, noiseDependency: NOISE_ID }),
      acquisitions: ds.acquisitions.filter((a) => !isNoise(a)),
    });
    const noiseFile = writeDataset(join(input, 'sub', 'z_noise.h5'), {
      xml: withMeasurement(ds.xml, { measurementId: NOISE_ID }),
      acquisitions: ds.acquisitions.filter(isNoise),
    });

    const out = join(dir, 'outgoing');
    await t.test('noise first, then imaging; report.json; same images as the server path', async () => {
      const run = await runGantry(['chris', input, out, '--config-dir', configDir, '-c', 'prewhitening.xml', '--format', 'h5']);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
      assert.ok(lines.some((l) => l.msg === 'chris done'), 'JSON logs on stdout');
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ChrisReport;
      assert.equal(report.success, true);
      assert.deepEqual(report.inputs.map((i) => [i.file, i.kind, i.status]), [['sub/z_noise.h5', 'noise', 'success'], ['a_scan.h5', 'imaging', 'success']]);
      assert.deepEqual(report.inputs[1]?.outputs, ['a_scan.h5']);
      const chrisImages = readImages(join(out, 'a_scan.h5'), 'prewhitening.xml');
      assert.equal(chrisImages.length, 1);

      server = await startGantryServer(['--storage', join(dir, 'store'), '--config-dir', configDir]);
      const noiseRun = await sendWithClient(server.port, noiseFile, join(dir, 'n.h5'), 'g', { name: 'default_measurement_dependencies.xml' });
      assert.equal(noiseRun.code, 0, noiseRun.stderr);
      const scanRun = await sendWithClient(server.port, scanFile, join(dir, 's.h5'), 'g', { name: 'prewhitening.xml' });
      assert.equal(scanRun.code, 0, scanRun.stderr);
      assert.doesNotMatch(scanRun.stdout, /WARNING/);
      const serverImages = readImages(join(dir, 's.h5'), 'g');
      assert.equal(serverImages.length, 1);
      const { nrmse, scale } = nrmseAfterScale(Array.from(chrisImages[0]?.data as Float32Array), Array.from(serverImages[0]?.data as Float32Array));
      t.diagnostic(`chris vs server: NRMSE ${nrmse.toExponential(2)}, scale ${scale}`);
      assert.ok(nrmse < 1e-6 && Math.abs(scale - 1) < 1e-6, `NRMSE ${nrmse}, scale ${scale}`);
    });

    await t.test('--format dicom: one file per image whose pixels equal the HDF5 image', async () => {
      const dicomOut = join(dir, 'outgoing-dicom');
      const run = await runGantry(['chris', input, dicomOut, '--config-dir', configDir, '-c', 'prewhitening.xml', '--log-destination', 'stderr']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '', 'logs went to stderr');
      const files = readdirSync(join(dicomOut, 'a_scan'));
      assert.equal(files.length, 1);
      const { values, fields } = readDicom(readFileSync(join(dicomOut, 'a_scan', files[0] as string)));
      const want = readImages(join(out, 'a_scan.h5'), 'prewhitening.xml')[0]?.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((values[i] as number) - (want[i] as number)));
      assert.ok(worst <= Number(fields['RescaleSlope']) / 2 + 1e-9, `largest difference ${worst}`);
    });

    await t.test('a failing input: non-zero exit, the error in the report', async () => {
      const bad = join(dir, 'bad-in');
      mkdirSync(bad);
      writeFileSync(join(bad, 'broken.h5'), 'not an HDF5 file');
      const run = await runGantry(['chris', bad, join(dir, 'bad-out')]);
      assert.notEqual(run.code, 0);
      const report = JSON.parse(readFileSync(join(dir, 'bad-out', 'report.json'), 'utf8')) as ChrisReport;
      assert.equal(report.success, false);
      assert.equal(report.inputs[0]?.status, 'error');
      assert.ok((report.inputs[0]?.error ?? '').length > 0);
    });

    await t.test('--json prints a ds plugin descriptor', async () => {
      const run = await runGantry(['chris', '--json']);
      assert.equal(run.code, 0);
      const d = JSON.parse(run.stdout) as { type: string; parameters: { name: string; flag: string }[]; selfexec: string; execshell: string };
      assert.equal(d.type, 'ds');
      assert.deepEqual(d.parameters.map((p) => p.flag), ['--config', '--noise-config', '--format', '--deidentify']);
      assert.equal(`${d.execshell} ${d.selfexec}`, 'gantry chris');
    });

    await t.test('gantry recon IN OUT --format png|dicom|h5', async () => {
      const single = join(dir, 'sl.h5');
      const png = await runGantry(['recon', '--no-storage', single, join(dir, 'png-out'), '-c', 'default.xml', '--format', 'png']);
      assert.equal(png.code, 0, png.stderr);
      const pngs = readdirSync(join(dir, 'png-out'));
      assert.deepEqual(pngs, ['image_0000_000001.png']);
      const decoded = decode(readFileSync(join(dir, 'png-out', pngs[0] as string)));
      assert.deepEqual([decoded.width, decoded.height, decoded.channels, decoded.depth], [64, 64, 1, 8]);
      const h5 = await runGantry(['recon', '--no-storage', single, join(dir, 'recon.h5'), '-c', 'default_short.xml']);
      assert.equal(h5.code, 0, h5.stderr);
      const dcm = await runGantry(['recon', '--no-storage', single, join(dir, 'dcm-out'), '-c', 'default_short.xml', '--format', 'dicom', '--deidentify']);
      assert.equal(dcm.code, 0, dcm.stderr);
      const [file] = readdirSync(join(dir, 'dcm-out'));
      const { values, fields } = readDicom(readFileSync(join(dir, 'dcm-out', file as string)));
      const want = readImages(join(dir, 'recon.h5'), 'default_short.xml')[0]?.data as Uint16Array;
      assert.equal(fields['RescaleSlope'], 1, 'unsigned 16-bit images are stored as they are');
      assert.deepEqual(Array.from(values), Array.from(want), 'DICOM pixels equal the HDF5 image exactly');
      assert.equal(fields['PatientIdentityRemoved'], 'YES');
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
