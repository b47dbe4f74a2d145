/**
 * The HTTP side of `gantry serve` over real processes on 127.0.0.1: health,
 * readiness (session limit and drain), Prometheus metrics that parse and move
 * as sessions run, the sessions/images API while a reconstruction runs, and
 * downloads (ISMRMRD HDF5 equal to the client's images; a DICOM zip whose
 * files pass dcmdump/dciodvfy and whose pixels equal the HDF5 images).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { unzipSync } from 'fflate';
import { readDicom } from '../../src/formats/dicom.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { applyWindow } from '../../src/formats/windowing.js';
import type { Image } from '../../src/ismrmrd/types.js';
import { parseIsmrmrdHeader, serializeIsmrmrdHeader } from '../../src/ismrmrd/xml-header.js';
import type { ImageInfo, SessionInfo } from '../../src/observe/types.js';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { hasTool, missing } from '../helpers/tools.js';
import { dicomToolErrors } from '../helpers/dicom-tools.js';
import { getBytes, getJson, parsePrometheusText, phantomScan, sampleValue, SteppedSession, waitFor, type Scan } from './http-fixtures.js';

const skip = missing([]);
const PATIENT = 'Doe^Jane';

function withPatient(xml: string): string {
  const h = parseIsmrmrdHeader(xml);
  h.subjectInformation = { patientName: PATIENT, patientID: 'PID-4711', patientBirthdate: '1970-01-02', patientGender: 'F' };
  h.studyInformation = { studyDate: '2024-05-06', studyTime: '07:08:09', studyDescription: 'phantom study' };
  return serializeIsmrmrdHeader(h);
}

async function metrics(port: number): Promise<ReturnType<typeof parsePrometheusText>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const scanOf = (scan: Scan, rep: number): Scan['acquisitions'] => scan.acquisitions.filter((a) => a.head.idx.repetition === rep);

test('gantry serve HTTP side: health, metrics, sessions API, downloads, drain', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-http-'));
  let server: ServerProcess | undefined;
  try {
    const raw = await phantomScan(dir, 'cine.h5', { matrix: 48, coils: 2, phases: 3, slices: 2, repetitions: 2 });
    const scan = { ...raw, xml: withPatient(raw.xml) };
    server = await startGantryServer(['--max-sessions', '2', '--drain-timeout', '30000']);
    const http = server.httpPort as number;
    assert.ok(http > 0, 'the HTTP port is logged');
    const tcp = server.port;

    await t.test('/livez and /readyz answer', async () => {
      assert.deepEqual(await getJson(http, '/livez'), { status: 'ok' });
      const ready = await getJson<{ ready: boolean; maxSessions: number }>(http, '/readyz');
      assert.equal(ready.ready, true);
      assert.equal(ready.maxSessions, 2);
    });

    const before = await metrics(http);
    assert.equal(sampleValue(before, 'mrd_sessions_active'), 0);
    for (const name of [
      'mrd_sessions_active', 'mrd_sessions_started_total', 'mrd_sessions_completed_total', 'mrd_session_duration_seconds',
      'mrd_received_bytes_total', 'mrd_sent_bytes_total', 'mrd_protocol_errors_total', 'mrd_workers',
      'mrd_dependency_store_operations_total', 'mrd_build_info', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds',
    ]) assert.ok(before.types.has(name), `metric ${name} is exported`);
    assert.equal(sampleValue(before, 'mrd_build_info', { version: '0.1.0' }), 1);

    const session = await SteppedSession.start(tcp, 'default.xml', scan.xml);
    let info: SessionInfo | undefined;
    await t.test('a running session is listed with its first images', async () => {
      await session.send(scanOf(scan, 0));
      await session.send(scanOf(scan, 1).slice(0, 1));
      info = await waitFor('six images in the API', async () => {
        const { sessions } = await getJson<{ sessions: SessionInfo[] }>(http, '/api/sessions');
        const s = sessions.find((x) => x.state === 'streaming');
        return s && s.images >= 6 ? s : undefined;
      });
      assert.equal(info.config, 'default.xml');
      assert.ok(info.timings.firstImageAt !== undefined);
      const m = await metrics(http);
      assert.equal(sampleValue(m, 'mrd_sessions_active'), 1);
      assert.equal((await getJson<{ ready: boolean }>(http, '/readyz')).ready, true);
    });
    const id = (info as SessionInfo).id;

    await t.test('image metadata, PNG and raw pixels of a running session', async () => {
      const { images } = await getJson<{ images: ImageInfo[] }>(http, `/api/sessions/${id}/images`);
      assert.ok(images.length >= 6);
      const first = images[0] as ImageInfo;
      assert.deepEqual(first.matrix, [48, 48, 1]);
      assert.equal(first.complex, false);
      assert.deepEqual(first.readDir.map(Math.abs).reduce((a, b) => a + b, 0) > 0, true);
      const rawRes = await getBytes(http, `/api/sessions/${id}/images/0/raw`);
      assert.equal(rawRes.status, 200);
      assert.equal(rawRes.headers.get('x-image-width'), '48');
      const values = new Float32Array(rawRes.bytes.buffer, rawRes.bytes.byteOffset, rawRes.bytes.byteLength / 4);
      const clientImage = await waitFor('the client got image 0', () => session.images[0]);
      assert.deepEqual(Array.from(values), Array.from(clientImage.data as Float32Array), 'raw pixels equal what the client received');
      const png = await getBytes(http, `/api/sessions/${id}/images/0/png?wc=0.5&ww=1.25`);
      assert.equal(png.headers.get('content-type'), 'image/png');
      const decoded = decode(png.bytes);
      assert.equal(decoded.width, 48);
      assert.equal(decoded.channels, 1);
      const want = new Uint8Array(48 * 48);
      applyWindow(values, { center: 0.5, width: 1.25 }, want);
      assert.deepEqual(Array.from(decoded.data), Array.from(want), 'PNG grey levels follow the window');
      const bad = await getBytes(http, `/api/sessions/${id}/images/0/png?part=nonsense`);
      assert.equal(bad.status, 400);
      assert.equal((await getBytes(http, '/api/sessions/nope/images')).status, 404);
    });

    await t.test('readiness is false at the session limit; an aborted client counts as client_abort', async () => {
      const second = await SteppedSession.start(tcp, 'default.xml', scan.xml);
      await waitFor('two active sessions', async () => {
        const r = await fetch(`http://127.0.0.1:${http}/readyz`);
        return r.status === 503 ? true : undefined;
      });
      second.abort();
      await waitFor('readiness back', async () => ((await fetch(`http://127.0.0.1:${http}/readyz`)).status === 200 ? true : undefined));
    });

    await t.test('a protocol error is counted by reason', async () => {
      const { connect } = await import('node:net');
      const socket = connect({ host: '127.0.0.1', port: tcp });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(Uint8Array.of(0x39, 0x30, 0, 0));
      await new Promise<void>((resolve) => {
        socket.on('data', () => undefined);
        socket.once('close', () => resolve());
        socket.once('end', () => socket.destroy());
      });
      const m = await waitFor('the protocol error metric', async () => {
        const e = await metrics(http);
        const ended = sampleValue(e, 'mrd_sessions_completed_total', { config: 'none', outcome: 'error' }) >= 1;
        return ended && sampleValue(e, 'mrd_protocol_errors_total', { reason: 'unknown_id' }) >= 1 ? e : undefined;
      });
      assert.equal(sampleValue(m, 'mrd_protocol_errors_total', { reason: 'unknown_id' }), 1);
    });

    let clientImages: Image[] = [];
    await t.test('the session completes; counters moved', async () => {
      await session.send(scanOf(scan, 1).slice(1));
      await session.finish();
      clientImages = session.images;
      assert.equal(clientImages.length, 12);
      const done = await waitFor('completed', async () => {
        const s = await getJson<SessionInfo>(http, `/api/sessions/${id}`);
        return s.state === 'completed' ? s : undefined;
      });
      assert.equal(done.outcome, 'success');
      assert.equal(done.images, 12);
      const after = await metrics(http);
      const d = (name: string, labels: Record<string, string> = {}): number => sampleValue(after, name, labels) - sampleValue(before, name, labels);
      assert.equal(d('mrd_sessions_started_total', { config: 'default.xml' }), 2);
      assert.equal(d('mrd_sessions_completed_total', { config: 'default.xml', outcome: 'success' }), 1);
      assert.equal(d('mrd_sessions_completed_total', { config: 'default.xml', outcome: 'client_abort' }), 1);
      assert.equal(d('mrd_session_duration_seconds_count', { config: 'default.xml', outcome: 'success' }), 1);
      assert.ok(d('mrd_received_bytes_total', { message_type: 'acquisition' }) >= scan.acquisitions.length * 340);
      assert.ok(d('mrd_sent_bytes_total', { message_type: 'image' }) >= 12 * 48 * 48 * 4);
      assert.equal(sampleValue(after, 'mrd_sessions_active'), 0);
      const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-/;
      for (const s of after.samples) for (const v of Object.values(s.labels)) assert.doesNotMatch(v, uuid, `label of ${s.name} holds no session id`);
    });

    await t.test('a reference parser accepts /metrics: promtool check metrics', { skip: hasTool('promtool') ? false : 'promtool is not installed (Debian prometheus)' }, async () => {
      const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
      const out = `${r.stdout}${r.stderr}`;
      // exit 0: clean; 3: lint remarks only (prom-client's own nodejs_active_*_total gauges); 1: unparsable
      assert.ok(r.status === 0 || r.status === 3, `promtool exit ${r.status}: ${out}`);
      assert.doesNotMatch(out, /parsing error/);
      assert.deepEqual(out.split('\n').filter((l) => l.startsWith('mrd_')), [], 'no lint remark on a Gantry metric');
    });

    await t.test('HDF5 download equals the client images', async () => {
      const res = await getBytes(http, `/api/sessions/${id}/download.h5`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="default-[0-9a-f]{8}\.h5"/);
      const path = join(dir, 'download.h5');
      writeFileSync(path, res.bytes);
      const f = IsmrmrdFile.open(path, 'default.xml');
      const images = f.imageSeriesNames().flatMap((n) => f.readImages(n));
      f.close();
      assert.equal(images.length, clientImages.length);
      images.forEach((img, k) => {
        assert.deepEqual(img.head.matrix_size, (clientImages[k] as Image).head.matrix_size);
        assert.deepEqual(Array.from(img.data as Float32Array), Array.from((clientImages[k] as Image).data as Float32Array));
      });
    });

    await t.test('DICOM zip: valid files, stable UIDs, pixels equal the HDF5 images, de-identification', async () => {
      const res = await getBytes(http, `/api/sessions/${id}/download.zip`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/zip');
      const files = Object.entries(unzipSync(res.bytes)).sort(([a], [b]) => (a < b ? -1 : 1));
      assert.equal(files.length, 12);
      const again = unzipSync((await getBytes(http, `/api/sessions/${id}/download.zip`)).bytes);
      const series = new Set<string>();
      for (const [k, [name, bytes]] of files.entries()) {
        const path = join(dir, `img${k}.dcm`);
        writeFileSync(path, bytes);
        assert.equal(dicomToolErrors(path), undefined, `${name} passes the DICOM tools`);
        const { fields, values } = readDicom(bytes);
        assert.equal(fields['SOPClassUID'], '1.2.840.10008.5.1.4.1.1.4');
        assert.equal(fields['PatientID'], 'PID-4711');
        assert.equal(fields['StudyDate'], '20240506');
        assert.equal(fields['SOPInstanceUID'], readDicom(again[name] as Uint8Array).fields['SOPInstanceUID'], 'UIDs are stable for the session');
        series.add(String(fields['SeriesInstanceUID']));
        const instance = Number(fields['InstanceNumber']);
        const source = clientImages.find((img) => img.head.image_index === instance) as Image;
        assert.ok(source, `an image with image_index ${instance}`);
        const want = source.data as Float32Array;
        const slope = Number(fields['RescaleSlope']);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((values[i] as number) - (want[i] as number)));
        assert.ok(worst <= slope * 0.5 + 1e-6 * Math.abs(Number(fields['RescaleIntercept'])) + 1e-9, `pixels within half a step: ${worst} vs slope ${slope}`);
        assert.deepEqual((fields['PixelSpacing'] as number[]).map(Number), [source.head.field_of_view[1] / 48, source.head.field_of_view[0] / 48].map((x) => Number(x.toPrecision(12))));
      }
      assert.equal(series.size, 1);
      if (!hasTool('dcmdump') && !hasTool('dciodvfy')) t.diagnostic('dcmdump/dciodvfy missing: DICOM files were only parsed with dcmjs');
      const deid = unzipSync((await getBytes(http, `/api/sessions/${id}/download.zip?deidentify=1`)).bytes);
      for (const bytes of Object.values(deid)) {
        const text = Buffer.from(bytes).toString('latin1');
        assert.ok(!text.includes('Doe') && !text.includes('PID-4711') && !text.includes('19700102'), 'no patient identifiers');
        assert.equal(readDicom(bytes).fields['PatientIdentityRemoved'], 'YES');
      }
    });

    await t.test('no patient identifiers in the API, metrics or logs', async () => {
      const api = JSON.stringify(await getJson(http, '/api/sessions')) + JSON.stringify(await getJson(http, `/api/sessions/${id}/images`));
      const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      for (const where of [api, text, (server as ServerProcess).logs()]) {
        assert.ok(!where.includes('Doe') && !where.includes('PID-4711'));
      }
      const states = (server as ServerProcess).logs().split('\n').filter((l) => l.includes('"msg":"session_state"') && l.includes(id));
      assert.deepEqual(states.map((l) => (JSON.parse(l) as { state: string }).state), ['connected', 'configured', 'streaming', 'finishing', 'completed']);
    });

    await t.test('/readyz turns false while draining; the running session finishes', async () => {
      const running = await SteppedSession.start(tcp, 'default.xml', scan.xml);
      await running.send(scanOf(scan, 0));
      await waitFor('one active session', async () => (sampleValue(await metrics(http), 'mrd_sessions_active') === 1 ? true : undefined));
      const child = (server as ServerProcess).child;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const r = await waitFor('readyz 503', async () => {
        const res = await fetch(`http://127.0.0.1:${http}/readyz`);
        return res.status === 503 ? ((await res.json()) as { draining: boolean }) : undefined;
      });
      assert.equal(r.draining, true);
      assert.equal(sampleValue(await metrics(http), 'mrd_draining'), 1);
      assert.equal((await getJson<{ status: string }>(http, '/livez')).status, 'ok', 'still alive while draining');
      await running.send(scanOf(scan, 1));
      await running.finish();
      assert.equal(running.images.length, 12);
      assert.equal(await exited, 0);
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
