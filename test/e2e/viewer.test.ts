/**
 * The web page in headless Chromium (Debian's chromium driven by
 * playwright-core): while a reconstruction runs, the session appears and its
 * image is drawn (canvas pixels not blank and equal to the PNG endpoint's for
 * the same window); dragging changes window/level and the pixels; cine
 * playback advances frames; slices scroll; the download links return valid
 * files; for complex output the magnitude/phase switch (canvas equal to the
 * PNG of that part), the full-range window preset, wheel zoom and shift-drag
 * pan; the workers view and a distributed session's jobs with their worker. Screenshots go to a folder under $GANTRY_TEST_ARTIFACTS, else under
 * the system temp folder (the path is printed).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { unzipSync } from 'fflate';
import { readDicom } from '../../src/formats/dicom.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { REPO_ROOT, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { DataType } from '../../src/ismrmrd/types.js';
import type { SessionInfo } from '../../src/observe/types.js';
import { getBytes, getJson, phantomScan, SteppedSession, waitFor } from './http-fixtures.js';

const COMPLEX_CONFIG = 'Generic_Cartesian_Grappa_Complex.xml';
const CHROMIUM = process.env['GANTRY_CHROMIUM'] ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

interface PlaywrightChromium {
  launch(options: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser>;
}
interface Browser {
  newPage(options: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
  waitForFunction(expression: string, arg?: unknown, options?: { timeout: number }): Promise<unknown>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  click(selector: string): Promise<void>;
  fill(selector: string, value: string): Promise<void>;
  mouse: {
    move(x: number, y: number, o?: { steps: number }): Promise<void>;
    down(): Promise<void>;
    up(): Promise<void>;
    wheel(deltaX: number, deltaY: number): Promise<void>;
  };
  keyboard: { down(key: string): Promise<void>; up(key: string): Promise<void> };
  on(event: 'pageerror', listener: (err: Error) => void): void;
}

async function loadChromium(): Promise<PlaywrightChromium | string> {
  if (!CHROMIUM) return 'needs Debian chromium (apt-get install chromium)';
  try {
    const mod = (await import('playwright-core')) as unknown as { chromium: PlaywrightChromium };
    return mod.chromium;
  } catch {
    return 'needs playwright-core (npm ci)';
  }
}

const loaded = await loadChromium();
const skip = typeof loaded === 'string' ? `${loaded}` : missing([]);

/** Canvas state and its red channel (grey levels). */
interface CanvasState {
  session: string;
  imageIndex: string;
  part: string;
  z: string;
  windowCenter: string;
  windowWidth: string;
  frame: string;
  renders: string;
  width: number;
  height: number;
  grey: number[];
}

const CANVAS_STATE = `(() => {
  const c = document.getElementById('view');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const grey = [];
  for (let i = 0; i < d.length; i += 4) grey.push(d[i]);
  return { ...c.dataset, width: c.width, height: c.height, grey };
})()`;

test('web page in headless Chromium: live session, drawing, window/level, cine, downloads', { skip, timeout: 120_000 }, async (t) => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'web', 'app.js'))) execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs')]);
  // CI keeps the screenshots when GANTRY_TEST_ARTIFACTS names a folder
  const artifacts = join(process.env['GANTRY_TEST_ARTIFACTS'] ?? tmpdir(), `gantry-viewer-artifacts-${Date.now()}`);
  mkdirSync(artifacts, { recursive: true });
  t.diagnostic(`screenshots: ${artifacts}`);
  process.stdout.write(`# viewer screenshots: ${artifacts}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'gantry-viewer-'));
  let server: ServerProcess | undefined;
  let worker: ServerProcess | undefined;
  let browser: Browser | undefined;
  try {
    const scan = await phantomScan(dir, 'cine.h5', { matrix: 64, coils: 2, phases: 4, slices: 2, repetitions: 2 });
    // a second server as the worker pool of this one, for the workers view and a distributed session's jobs
    worker = await startGantryServer();
    server = await startGantryServer(['--workers', `127.0.0.1:${worker.port}`, '--discovery-interval', '0.5']);
    const http = server.httpPort as number;
    browser = await (loaded as PlaywrightChromium).launch({ executablePath: CHROMIUM as string, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`http://127.0.0.1:${http}/`);
    await page.waitForFunction(`document.getElementById('server-status').textContent === 'live'`, undefined, { timeout: 10_000 });

    const session = await SteppedSession.start(server.port, 'default.xml', scan.xml);
    const rep = (r: number): typeof scan.acquisitions => scan.acquisitions.filter((a) => a.head.idx.repetition === r);
    await session.send(rep(0));
    await session.send(rep(1).slice(0, 1));

    await page.waitForFunction(`document.querySelector('#sessions tbody tr[data-state="streaming"]') !== null`, undefined, { timeout: 10_000 });
    await page.waitForFunction(`Number(document.getElementById('view').dataset.renders || 0) > 0`, undefined, { timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, '1-running-session.png') });
    const first = await page.evaluate<CanvasState>(CANVAS_STATE);
    assert.equal(first.width, 64);
    assert.equal(first.height, 64);
    assert.ok(new Set(first.grey).size > 10, 'the canvas is not blank');
    const streaming = await page.evaluate<string>(`document.querySelector('#sessions tbody tr[data-session-id="${first.session}"]').dataset.state`);
    assert.equal(streaming, 'streaming', 'drawn while the reconstruction still runs');

    const pngFor = async (s: CanvasState): Promise<number[]> => {
      const png = await getBytes(http, `/api/sessions/${s.session}/images/${s.imageIndex}/png?part=${s.part}&z=${s.z}&wc=${s.windowCenter}&ww=${s.windowWidth}`);
      assert.equal(png.status, 200);
      return Array.from(decode(png.bytes).data);
    };
    await t.test('the canvas equals the PNG endpoint for the same window', async () => {
      assert.deepEqual(first.grey, await pngFor(first));
    });

    await t.test('dragging changes window/level and the pixels', async () => {
      const box = await page.evaluate<{ x: number; y: number; w: number; h: number }>(
        `(() => { const r = document.getElementById('stage').getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`,
      );
      const cx = box.x + box.w / 2;
      const cy = box.y + box.h / 2;
      await page.mouse.move(cx, cy);
      await page.mouse.down();
      await page.mouse.move(cx - 60, cy + 40, { steps: 6 });
      await page.mouse.up();
      const after = await page.evaluate<CanvasState>(CANVAS_STATE);
      assert.notEqual(after.windowCenter, first.windowCenter);
      assert.notEqual(after.windowWidth, first.windowWidth);
      assert.notDeepEqual(after.grey, first.grey);
      assert.deepEqual(after.grey, await pngFor(after), 'still equal to the PNG for the new window');
      await page.screenshot({ path: join(artifacts, '2-window-level.png') });
    });

    await t.test('cine playback advances frames; slices scroll', async () => {
      await session.send(rep(1).slice(1));
      await session.finish();
      assert.equal(session.images.length, 16);
      await page.waitForFunction(`window.gantryViewer.frames === 8 && window.gantryViewer.slices === 2`, undefined, { timeout: 10_000 });
      await page.fill('#fps', '20');
      await page.click('#play');
      const seen = new Set<string>();
      await waitFor('cine frames', async () => {
        seen.add((await page.evaluate<CanvasState>(CANVAS_STATE)).frame);
        return seen.size >= 4 ? true : undefined;
      }, 10_000, 30);
      await page.screenshot({ path: join(artifacts, '3-cine.png') });
      await page.click('#play');
      assert.equal(await page.evaluate<boolean>('window.gantryViewer.playing'), false);
      const before = await page.evaluate<CanvasState>(CANVAS_STATE);
      await page.evaluate(`(() => { const s = document.getElementById('slice'); s.value = '1'; s.dispatchEvent(new Event('input')); })()`);
      await page.waitForFunction(`document.getElementById('view').dataset.imageIndex !== '${before.imageIndex}'`, undefined, { timeout: 5_000 });
      const header = await page.evaluate<string>(`document.getElementById('image-header').textContent`);
      assert.match(header, /slice1/);
      await page.screenshot({ path: join(artifacts, '4-slice-2.png') });
    });

    await t.test('download links return valid files', async () => {
      await page.waitForFunction(`document.querySelector('#sessions tbody tr[data-state="completed"]') !== null`, undefined, { timeout: 10_000 });
      const links = await page.evaluate<string[]>(`['download-h5', 'download-dicom', 'download-dicom-deid'].map((id) => document.getElementById(id).href)`);
      const [h5, zip, deid] = await Promise.all(links.map(async (href) => new Uint8Array(await (await fetch(href)).arrayBuffer())));
      const path = join(dir, 'viewer.h5');
      writeFileSync(path, h5 as Uint8Array);
      const f = IsmrmrdFile.open(path, 'default.xml');
      assert.equal(f.imageSeriesNames().flatMap((n) => f.readImages(n)).length, 16);
      f.close();
      for (const archive of [zip, deid]) {
        const files = Object.values(unzipSync(archive as Uint8Array));
        assert.equal(files.length, 16);
        for (const file of files) assert.equal(readDicom(file).fields['Modality'], 'MR');
      }
      await page.screenshot({ path: join(artifacts, '5-completed.png'), fullPage: true });
    });

    await t.test('complex output: magnitude/phase switch, window presets, zoom and pan', async () => {
      // the generic chain's complex output (coil-combined with phase; default.xml's images have none)
      const grappa = await phantomScan(dir, 'grappa.h5', { matrix: 48, coils: 4, accel: 2 });
      const complex = await SteppedSession.start(server?.port as number, COMPLEX_CONFIG, grappa.xml);
      await complex.send(grappa.acquisitions);
      await complex.finish();
      assert.ok(complex.images.length > 0 && complex.images.every((img) => img.head.data_type === DataType.CXFLOAT), 'complex images');
      const id = await waitFor('the complex session', async () => {
        const { sessions } = await getJson<{ sessions: SessionInfo[] }>(http, '/api/sessions');
        return sessions.find((x) => x.config === COMPLEX_CONFIG && x.state === 'completed')?.id;
      });
      await page.waitForFunction(`document.querySelector('#sessions tbody tr[data-session-id="${id}"]') !== null`, undefined, { timeout: 10_000 });
      await page.click(`#sessions tbody tr[data-session-id="${id}"]`);
      await page.waitForFunction(`document.getElementById('view').dataset.session === '${id}'`, undefined, { timeout: 10_000 });
      assert.equal(await page.evaluate<boolean>(`document.querySelector('#part option[value="phase"]').disabled`), false, 'phase offered for complex images');
      const magnitude = await page.evaluate<CanvasState>(CANVAS_STATE);
      assert.equal(magnitude.part, 'magnitude');
      assert.deepEqual(magnitude.grey, await pngFor(magnitude));

      await page.evaluate(`(() => { const p = document.getElementById('part'); p.value = 'phase'; p.dispatchEvent(new Event('change')); })()`);
      await page.waitForFunction(`document.getElementById('view').dataset.part === 'phase'`, undefined, { timeout: 5_000 });
      const phase = await page.evaluate<CanvasState>(CANVAS_STATE);
      assert.notDeepEqual(phase.grey, magnitude.grey, 'the phase image differs from the magnitude');
      assert.deepEqual(phase.grey, await pngFor(phase), 'the phase canvas equals the PNG endpoint with part=phase');
      await page.screenshot({ path: join(artifacts, '6-phase.png') });

      const presets = await page.evaluate<{ value: string; text: string }[]>(`Array.from(document.getElementById('preset').options).map((o) => ({ value: o.value, text: o.textContent }))`);
      const full = presets.find((o) => o.text === 'full range');
      assert.ok(full && presets.some((o) => o.text === 'auto (1–99 %)'), `presets: ${presets.map((o) => o.text).join(', ')}`);
      await page.evaluate(`(() => { const p = document.getElementById('preset'); p.value = '${full.value}'; p.dispatchEvent(new Event('change')); })()`);
      const raw = await getBytes(http, `/api/sessions/${id}/images/${phase.imageIndex}/raw?part=phase&z=${phase.z}`);
      const values = new Float32Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 4);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of values) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const windowed = await page.evaluate<CanvasState>(CANVAS_STATE);
      assert.ok(Math.abs(Number(windowed.windowCenter) - (lo + hi) / 2) < 1e-5 && Math.abs(Number(windowed.windowWidth) - (hi - lo)) < 1e-5,
        `the full-range preset: C ${windowed.windowCenter} W ${windowed.windowWidth} vs the phase range ${lo}..${hi}`);
      assert.deepEqual(windowed.grey, await pngFor(windowed));

      const transform = (): Promise<string> => page.evaluate<string>(`document.getElementById('view').style.transform`);
      const scaleOf = (t: string): number => Number(/scale\(([^)]+)\)/.exec(t)?.[1]);
      const box = await page.evaluate<{ x: number; y: number; w: number; h: number }>(
        `(() => { const r = document.getElementById('stage').getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`,
      );
      const before = await transform();
      await page.mouse.move(box.x + box.w / 2, box.y + box.h / 2);
      await page.mouse.wheel(0, -400);
      await waitFor('the wheel zoom', async () => (scaleOf(await transform()) > scaleOf(before) * 1.5 ? true : undefined), 5_000);
      const zoomed = await transform();
      await page.keyboard.down('Shift');
      await page.mouse.down();
      await page.mouse.move(box.x + box.w / 2 + 50, box.y + box.h / 2 + 30, { steps: 5 });
      await page.mouse.up();
      await page.keyboard.up('Shift');
      const panned = await transform();
      assert.notEqual(panned, zoomed, 'shift-drag pans');
      assert.equal(scaleOf(panned), scaleOf(zoomed), 'panning keeps the zoom');
      assert.equal((await page.evaluate<CanvasState>(CANVAS_STATE)).windowCenter, windowed.windowCenter, 'panning leaves window/level alone');
      await page.screenshot({ path: join(artifacts, '7-zoom-pan.png') });
    });
    await t.test('workers view; a distributed session lists its jobs and their worker', async () => {
      const workerId = `:${(worker as ServerProcess).port}`;
      await page.waitForFunction(
        `Array.from(document.querySelectorAll('#workers tr')).some((tr) => tr.cells[0]?.textContent.endsWith('${workerId}') && tr.cells[1]?.textContent === 'ready')`,
        undefined, { timeout: 15_000 },
      );
      const distributed = await SteppedSession.start(server?.port as number, 'distributed_default.xml', scan.xml);
      await distributed.send(scan.acquisitions);
      await distributed.finish();
      assert.deepEqual(distributed.texts.filter((x) => x.includes('ERROR')), []);
      assert.equal(distributed.images.length, 16);
      const id = await waitFor('the distributed session', async () => {
        const { sessions } = await getJson<{ sessions: SessionInfo[] }>(http, '/api/sessions');
        return sessions.find((x) => x.config === 'distributed_default.xml' && x.state === 'completed')?.id;
      });
      await page.waitForFunction(`document.querySelector('#sessions tbody tr[data-session-id="${id}"]') !== null`, undefined, { timeout: 10_000 });
      await page.click(`#sessions tbody tr[data-session-id="${id}"]`);
      await page.waitForFunction(`document.querySelector('#jobs') !== null && document.querySelectorAll('#jobs tr').length > 1`, undefined, { timeout: 10_000 });
      const jobs = await page.evaluate<string[][]>(`Array.from(document.querySelectorAll('#jobs tr')).slice(1).map((tr) => Array.from(tr.cells).map((c) => c.textContent))`);
      assert.ok(jobs.length >= 2, `a job per repetition: ${JSON.stringify(jobs)}`);
      for (const [w, , outcome] of jobs) {
        assert.ok(w?.endsWith(workerId), `job ran on the worker: ${w}`);
        assert.equal(outcome, 'success');
      }
      // the earlier complex session left part=phase and series 1: a real-valued session shows its magnitude and its own series
      await page.waitForFunction(`document.getElementById('view').dataset.session === '${id}' && document.getElementById('view').dataset.part === 'magnitude'`, undefined, { timeout: 10_000 });
      const shown = await page.evaluate<CanvasState>(CANVAS_STATE);
      assert.ok(new Set(shown.grey).size > 10, 'the distributed session\'s image is drawn');
      assert.deepEqual(shown.grey, await pngFor(shown));
      assert.equal(await page.evaluate<string>(`document.getElementById('series').selectedOptions[0]?.textContent ?? ''`), 'series 0');
      const done = await waitFor('the worker\'s completed jobs', async () => {
        const { workers } = await getJson<{ workers: { id: string; completedJobs: number }[] }>(http, '/api/workers');
        const w = workers.find((x) => x.id.endsWith(workerId));
        return w && w.completedJobs >= jobs.length ? w.completedJobs : undefined;
      }, 10_000);
      t.diagnostic(`worker ${workerId}: ${done} completed jobs`);
      await page.waitForFunction(
        `Array.from(document.querySelectorAll('#workers tr')).some((tr) => tr.cells[0]?.textContent.endsWith('${workerId}') && tr.cells[3]?.textContent === '${done}')`,
        undefined, { timeout: 8_000 },
      );
      await page.screenshot({ path: join(artifacts, '8-distributed-jobs.png') });
    });
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await browser?.close();
    await server?.stop();
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
