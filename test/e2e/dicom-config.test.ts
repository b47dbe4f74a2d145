/**
 * Gadgetron's DICOM chain over real TCP: `config/dicom.xml` (DicomFinishGadget,
 * DicomImageWriter) answers with message 1018, which `gantry client` (the
 * drop-in for gadgetron_ismrmrd_client) saves as `<group>_NNNNNN.dcm`. The
 * files pass dciodvfy/dcmdump, and their pixel data equal the images the
 * session produced (the HTTP side's HDF5 download of that session).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDicom } from '../../src/formats/dicom.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import type { Image } from '../../src/ismrmrd/types.js';
import type { SessionInfo } from '../../src/observe/types.js';
import { dicomToolErrors, haveDicomTools } from '../helpers/dicom-tools.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { getBytes, getJson, phantomScan } from './http-fixtures.js';

const skip = missing([]);

test('dicom.xml over TCP: message 1018 files from the client pass the DICOM tools and equal the session images', { skip, timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-dicom-config-'));
  let server: ServerProcess | undefined;
  try {
    const scan = await phantomScan(dir, 'scan.h5', { matrix: 48, coils: 2, slices: 2 });
    server = await startGantryServer(['--no-storage']);
    const out = join(dir, 'dcm');
    mkdirSync(out);
    const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String(server.port), '-f', scan.path, '-c', 'dicom.xml', '-G', join(out, 'scan'), '-o', join(dir, 'unused.h5')], 60_000);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /ERROR/);
    const files = readdirSync(out).filter((f) => f.endsWith('.dcm')).sort();
    assert.deepEqual(files, ['scan_000000.dcm', 'scan_000001.dcm'], 'one file per slice, named as gadgetron_ismrmrd_client names them');

    const { sessions } = await getJson<{ sessions: SessionInfo[] }>(server.httpPort as number, '/api/sessions');
    const session = sessions.find((s) => s.config === 'dicom.xml');
    assert.ok(session, 'the session is listed');
    assert.equal(session.outcome, 'success');
    const h5 = await getBytes(server.httpPort as number, `/api/sessions/${session.id}/download.h5`);
    assert.equal(h5.status, 200);
    writeFileSync(join(dir, 'session.h5'), h5.bytes);
    const f = IsmrmrdFile.open(join(dir, 'session.h5'), 'dicom.xml');
    const images: Image[] = f.imageSeriesNames().flatMap((n) => f.readImages(n));
    f.close();
    assert.equal(images.length, files.length);

    const series = new Set<string>();
    for (const file of files) {
      const path = join(out, file);
      assert.equal(dicomToolErrors(path), undefined, `${file} passes the DICOM tools`);
      const { fields, values } = readDicom(readFileSync(path));
      assert.equal(fields['SOPClassUID'], '1.2.840.10008.5.1.4.1.1.4', 'MR Image Storage');
      series.add(String(fields['SeriesInstanceUID']));
      const source = images.find((img) => img.head.image_index === Number(fields['InstanceNumber']));
      assert.ok(source, `an image with image_index ${String(fields['InstanceNumber'])}`);
      assert.deepEqual([fields['Rows'], fields['Columns']], [source.head.matrix_size[1], source.head.matrix_size[0]]);
      const want = source.data as Float32Array;
      const step = Number(fields['RescaleSlope'] ?? 1);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((values[i] as number) - (want[i] as number)));
      assert.ok(worst <= step / 2 + 1e-9, `${file}: pixels within half a step of the session image (${worst} vs step ${step})`);
    }
    assert.equal(series.size, 1, 'one series for the session');
    if (!haveDicomTools()) t.diagnostic('dciodvfy/dcmdump missing: the files were only parsed with dcmjs');
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
