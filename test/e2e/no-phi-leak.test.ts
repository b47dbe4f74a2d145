/**
 * No patient data leaks: a phantom whose ISMRMRD header carries distinctive
 * patient, study and measurement identifiers goes through real `gantry
 * serve` processes (debug logging) by every road that is cheap to take:
 * a noise measurement stored as a dependency and an imaging measurement
 * that loads it, a plain reconstruction, the DICOM config, failing sessions
 * (a header whose numeric field holds an identifier, a malformed header
 * quoting the patient's name, acquisitions that do not fit the header) and
 * a distributed reconstruction through a gateway and a worker. Then every
 * byte the servers wrote (stdout and stderr), /metrics, the API's session
 * list, each session, its image list, /api/workers, the live event stream
 * and the de-identified DICOM download are scanned for the identifiers:
 * none may appear. (Clients are told their own errors; that is not a leak.)
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { address, errorTexts, makeScan, reconstruct, type Scan } from './distributed-fixtures.js';
import { isNoise, prewhiteningConfig } from './noise-fixtures.js';

/** The identifiers of the test dataset; none may appear in any output. */
const PHI = {
  patientFamily: 'Qxlorbinski',
  patientGiven: 'Vemmadette',
  patientId: 'PID8841927735',
  birthDate: '1931-07-19',
  birthDateDicom: '19310719',
  accession: '55190372981',
  studyId: 'STU77310458',
  physician: 'Zanquiloper',
  studyUid: '1.2.826.0.1.3680043.8.498.7712339004551',
  noiseMeasurement: 'MID46628991847NZ',
  scanMeasurement: 'MID46628991847SC',
  frameOfReference: '1.2.826.0.1.3680043.8.498.9911223344',
};

/** The phantom header with the identifiers (measurement `measurementId`, optionally depending on the noise measurement). */
function withIdentifiers(xml: string, measurementId: string, noiseDependency = false, weight = '71.5'): string {
  const subject = `<subjectInformation><patientName>${PHI.patientFamily}^${PHI.patientGiven}</patientName><patientWeight_kg>${weight}</patientWeight_kg>`
    + `<patientID>${PHI.patientId}</patientID><patientBirthdate>${PHI.birthDate}</patientBirthdate><patientGender>F</patientGender></subjectInformation>`
    + `<studyInformation><studyDate>2026-11-20</studyDate><studyID>${PHI.studyId}</studyID><accessionNumber>${PHI.accession}</accessionNumber>`
    + `<referringPhysicianName>Dr^${PHI.physician}</referringPhysicianName><studyInstanceUID>${PHI.studyUid}</studyInstanceUID></studyInformation>`;
  const measurement = `<measurementInformation><measurementID>${measurementId}</measurementID><patientPosition>HFS</patientPosition>`
    + '<protocolName>gantry_phantom</protocolName>'
    + (noiseDependency ? `<measurementDependency><dependencyType>Noise</dependencyType><measurementID>${PHI.noiseMeasurement}</measurementID></measurementDependency>` : '')
    + `<frameOfReferenceUID>${PHI.frameOfReference}</frameOfReferenceUID></measurementInformation>`;
  const out = xml.replace(/<measurementInformation>[\s\S]*?<\/measurementInformation>/, `${subject}${measurement}`);
  assert.notEqual(out, xml, 'the phantom header has a measurementInformation block to replace');
  return out;
}

/** Identifiers found in `text`, with some context. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (const [what, value] of Object.entries(PHI)) {
    let at = text.indexOf(value);
    while (at >= 0 && found.length < 20) {
      found.push(`${what} (${value}) in …${text.slice(Math.max(0, at - 160), at + value.length + 60).replace(/\n/g, '⏎')}…`);
      at = text.indexOf(value, at + value.length);
    }
  }
  return found;
}

async function get(port: number, path: string): Promise<{ status: number; text: string; bytes: Uint8Array }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(15_000) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, text: Buffer.from(bytes).toString('latin1'), bytes };
}

/** Collects the server-sent events of `/api/events` until `stop`. */
function captureEvents(port: number): { stop(): Promise<string> } {
  const controller = new AbortController();
  let text = '';
  const done = (async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/events`, { signal: controller.signal });
      const reader = res.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        text += Buffer.from(chunk.value).toString('utf8');
      }
    } catch {
      // aborted
    }
  })();
  return {
    async stop() {
      controller.abort();
      await done;
      return text;
    },
  };
}

test('no patient identifiers in logs, metrics, API or events', { skip: missing([]) ?? false, timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-phi-'));
  const servers: ServerProcess[] = [];
  const start = async (args: string[]): Promise<ServerProcess> => {
    const s = await startGantryServer(['--log-level', 'debug', '--storage', join(dir, 'storage'), ...args]);
    servers.push(s);
    return s;
  };
  try {
    const raw: Scan = await makeScan(dir, ['--matrix', '32', '--coils', '4', '--slices', '2', '--noise-scans', '16']);
    const noiseScan: Scan = { header: withIdentifiers(raw.header, PHI.noiseMeasurement), acquisitions: raw.acquisitions.filter(isNoise) };
    const imaging = raw.acquisitions.filter((a) => !isNoise(a));
    const scan: Scan = { header: withIdentifiers(raw.header, PHI.scanMeasurement, true), acquisitions: imaging };
    assert.ok(noiseScan.acquisitions.length > 0 && imaging.length > 0);

    const server = await start([]);
    const http = server.httpPort as number;
    const events = captureEvents(http);
    const worker = await start(['--no-http']);
    const gateway = await start(['--no-http', '--workers', address(worker.port), '--worker-timeout', '20']);

    await t.test('sessions that succeed', async () => {
      const noise = await reconstruct(server.port, 'default_measurement_dependencies.xml', noiseScan);
      assert.deepEqual(errorTexts(noise), []);
      const whitened = await reconstruct(server.port, prewhiteningConfig(), scan);
      assert.deepEqual(errorTexts(whitened), []);
      assert.ok(whitened.images.length > 0);
      assert.doesNotMatch(whitened.texts.join('\n'), /not found/, 'the noise dependency was stored and loaded');
      const plain = await reconstruct(server.port, 'default.xml', scan);
      assert.ok(plain.images.length > 0);
      const dicom = await reconstruct(server.port, 'dicom.xml', scan);
      assert.deepEqual(errorTexts(dicom), []);
      const distributed = await reconstruct(gateway.port, 'distributed_default.xml', scan);
      assert.deepEqual(errorTexts(distributed), []);
      assert.ok(distributed.images.length > 0);
    });

    await t.test('sessions that fail', async () => {
      const badNumber = await reconstruct(server.port, 'default.xml', { ...scan, header: withIdentifiers(raw.header, PHI.scanMeasurement, false, PHI.patientId) });
      const malformed = await reconstruct(server.port, 'default.xml', {
        ...scan, header: withIdentifiers(raw.header, PHI.scanMeasurement).replace('</patientName>', '</patientNam>'),
      });
      const misfit = await reconstruct(server.port, 'default.xml', {
        header: withIdentifiers(raw.header, PHI.scanMeasurement).replace(/<receiverChannels>\d+<\/receiverChannels>/, '<receiverChannels>3</receiverChannels>')
          .replace(/(<encodedSpace>\s*<matrixSize>\s*<x>)\d+/, '$1 17'),
        acquisitions: imaging,
      });
      const failed = [badNumber, malformed, misfit].filter((r) => errorTexts(r).length > 0);
      assert.ok(failed.length >= 2, `at least two sessions fail: ${[badNumber, malformed, misfit].map((r) => r.texts.join(' | ')).join(' || ')}`);
      const failedDistributed = await reconstruct(gateway.port, 'distributed_default.xml', { ...scan, header: withIdentifiers(raw.header, PHI.scanMeasurement, false, PHI.patientId) });
      assert.ok(errorTexts(failedDistributed).length > 0 || failedDistributed.images.length >= 0);
    });

    await t.test('nothing identifying in metrics, API, events or the de-identified download', async () => {
      const scanned: string[] = [];
      const metrics = await get(http, '/metrics');
      assert.equal(metrics.status, 200);
      scanned.push(metrics.text);
      const list = await get(http, '/api/sessions');
      assert.equal(list.status, 200);
      scanned.push(list.text);
      const sessions = (JSON.parse(list.text) as { sessions: { id: string; config?: string }[] }).sessions;
      assert.ok(sessions.length >= 6, `${sessions.length} sessions listed`);
      for (const s of sessions) {
        const id = encodeURIComponent(s.id);
        for (const path of [`/api/sessions/${id}`, `/api/sessions/${id}/images`]) {
          const r = await get(http, path);
          scanned.push(r.text);
        }
      }
      scanned.push((await get(http, '/api/workers')).text, (await get(http, '/api/server')).text);
      const withImages = sessions.find((s) => s.config === 'dicom.xml') ?? sessions[0];
      assert.ok(withImages);
      const zip = await get(http, `/api/sessions/${encodeURIComponent(withImages.id)}/download.zip?deidentify=1`);
      assert.equal(zip.status, 200, zip.text.slice(0, 300));
      for (const [name, bytes] of Object.entries(unzipSync(zip.bytes))) scanned.push(name, Buffer.from(bytes).toString('latin1'));
      // the scan can see identifiers: the download that is not de-identified carries them (it is the patient's data)
      const identified = await get(http, `/api/sessions/${encodeURIComponent(withImages.id)}/download.zip`);
      assert.ok(Object.values(unzipSync(identified.bytes)).some((b) => leaks(Buffer.from(b).toString('latin1')).length > 0), 'the identified DICOM carries the patient ID');
      scanned.push(await events.stop());
      const found = scanned.flatMap(leaks);
      assert.deepEqual(found, [], 'identifiers in the HTTP side');
    });

    await t.test('nothing identifying in any process output', async () => {
      for (const s of servers) await s.stop();
      let total = 0;
      const found: string[] = [];
      for (const s of servers) {
        const all = `${s.stdout()}${s.stderr()}`;
        total += all.length;
        found.push(...leaks(all));
      }
      assert.ok(total > 5_000, `the servers wrote ${total} bytes (debug logging)`);
      assert.match(servers.map((s) => s.logs()).join('\n'), /"msg":"session ended"[^\n]*"outcome":"error"/, 'the failing sessions are logged');
      assert.deepEqual(found, [], 'identifiers in the servers\' output');
    });
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
