/**
 * Gantry's web page: a live list of sessions (server-sent events), a canvas
 * viewer (window/level by drag and presets, zoom/pan, slices, cine over
 * phases and repetitions, complex parts, header fields), a workers view and
 * downloads. Bundled by esbuild into dist/web/app.js at build time.
 *
 * The canvas holds the image at its own size (one canvas pixel per image
 * pixel; zoom and pan are CSS transforms), and grey levels come from the same
 * function as the PNG endpoint, so the drawn pixels equal the PNG's.
 */
import { applyWindow, percentileWindow, windowFromMeta, type DisplayWindow } from '../src/formats/windowing.js';
import type { ImageInfo, RegistryEvent, SessionInfo, WorkerInfo } from '../src/observe/types.js';

type Part = 'magnitude' | 'phase' | 'real' | 'imag';

interface SlicePosition { slice: number; z: number }

interface Preset { name: string; window: DisplayWindow }

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`Cannot find #${id}`);
  return el as T;
};

const els = {
  status: $('server-status'),
  sessions: $<HTMLTableElement>('sessions'),
  detail: $('session-detail'),
  workers: $('workers'),
  series: $<HTMLSelectElement>('series'),
  part: $<HTMLSelectElement>('part'),
  preset: $<HTMLSelectElement>('preset'),
  slice: $<HTMLInputElement>('slice'),
  sliceOut: $<HTMLOutputElement>('slice-out'),
  frame: $<HTMLInputElement>('frame'),
  frameOut: $<HTMLOutputElement>('frame-out'),
  play: $<HTMLButtonElement>('play'),
  fps: $<HTMLInputElement>('fps'),
  resetView: $<HTMLButtonElement>('reset-view'),
  stage: $('stage'),
  canvas: $<HTMLCanvasElement>('view'),
  placeholder: $('placeholder'),
  readout: $('wl-readout'),
  downloads: $('downloads'),
  header: $<HTMLTableElement>('image-header'),
};

const state = {
  sessions: new Map<string, SessionInfo>(),
  selected: undefined as string | undefined,
  pinned: false,
  images: [] as ImageInfo[],
  series: undefined as number | undefined,
  part: 'magnitude' as Part,
  sliceIdx: 0,
  frameIdx: 0,
  slices: [] as SlicePosition[],
  frames: [] as string[],
  window: undefined as DisplayWindow | undefined,
  presets: [] as Preset[],
  zoom: 1,
  panX: 0,
  panY: 0,
  fitted: false,
  playing: false,
  timer: undefined as number | undefined,
  renderToken: 0,
  renders: 0,
  shown: undefined as ImageInfo | undefined,
  values: undefined as Float32Array | undefined,
};

const pixelCache = new Map<string, Float32Array>();

// ---------------------------------------------------------------- sessions

function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

function duration(s: SessionInfo): string {
  const end = s.timings.endedAt ?? Date.now();
  return `${((end - s.timings.connectedAt) / 1000).toFixed(1)} s`;
}

function renderSessions(): void {
  const body = els.sessions.tBodies[0] as HTMLTableSectionElement;
  const rows = [...state.sessions.values()].sort((a, b) => b.timings.connectedAt - a.timings.connectedAt);
  body.replaceChildren(...rows.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset['sessionId'] = s.id;
    tr.dataset['state'] = s.state;
    if (s.id === state.selected) tr.classList.add('selected');
    const cells = [formatTime(s.timings.connectedAt), s.config ?? '–', s.outcome ?? s.state, String(s.images), duration(s)];
    for (const [i, text] of cells.entries()) {
      const td = document.createElement('td');
      td.textContent = text;
      if (i === 1) td.title = text;
      if (i === 2) td.className = `state-${s.state}`;
      tr.append(td);
    }
    tr.addEventListener('click', () => {
      state.pinned = true;
      void selectSession(s.id);
    });
    return tr;
  }));
  renderDetail();
}

function renderDetail(): void {
  const s = state.selected ? state.sessions.get(state.selected) : undefined;
  if (!s) {
    els.detail.replaceChildren();
    els.downloads.replaceChildren();
    return;
  }
  const lines: [string, string][] = [
    ['session', s.id],
    ['config', s.config ?? '–'],
    ['state', s.outcome ? `${s.state} (${s.outcome})` : s.state],
    ['started', new Date(s.timings.connectedAt).toISOString()],
    ['duration', duration(s)],
    ['acquisitions', String(s.acquisitions)],
    ['images', `${s.images} (${s.imagesKept} kept)`],
    ['bytes in / out', `${s.bytesIn} / ${s.bytesOut}`],
  ];
  const table = document.createElement('table');
  for (const [k, v] of lines) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  const parts: HTMLElement[] = [table];
  for (const e of s.errors) {
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = e;
    parts.push(p);
  }
  if (s.jobs.length > 0) {
    const h = document.createElement('h2');
    h.textContent = 'Jobs';
    const jobs = document.createElement('table');
    jobs.id = 'jobs';
    const head = jobs.createTHead().insertRow();
    for (const t of ['worker', 'job', 'outcome', 'time']) head.insertCell().textContent = t;
    for (const j of s.jobs) {
      const tr = jobs.insertRow();
      tr.insertCell().textContent = j.worker;
      tr.insertCell().textContent = j.job;
      tr.insertCell().textContent = j.outcome ?? 'running';
      tr.insertCell().textContent = j.endedAt === undefined ? '' : `${((j.endedAt - j.startedAt) / 1000).toFixed(2)} s`;
    }
    parts.push(h, jobs);
  }
  els.detail.replaceChildren(...parts);
  const base = `api/sessions/${encodeURIComponent(s.id)}`;
  const link = (href: string, text: string, id: string): HTMLAnchorElement => {
    const a = document.createElement('a');
    a.href = href;
    a.id = id;
    a.textContent = text;
    a.download = '';
    return a;
  };
  els.downloads.replaceChildren(
    link(`${base}/download.h5`, 'ISMRMRD HDF5', 'download-h5'),
    link(`${base}/download.zip`, 'DICOM (zip)', 'download-dicom'),
    link(`${base}/download.zip?deidentify=1`, 'DICOM, de-identified', 'download-dicom-deid'),
  );
}

async function selectSession(id: string): Promise<void> {
  if (state.selected !== id) {
    state.selected = id;
    state.images = [];
    state.series = undefined;
    state.window = undefined;
    state.shown = undefined;
    state.sliceIdx = 0;
    state.frameIdx = 0;
    state.fitted = false;
    stopCine();
  }
  renderSessions();
  const res = await fetch(`api/sessions/${encodeURIComponent(id)}/images`);
  if (!res.ok || state.selected !== id) return;
  const body = (await res.json()) as { images: ImageInfo[] };
  const known = new Set(state.images.map((i) => i.index));
  for (const image of body.images) if (!known.has(image.index)) state.images.push(image);
  state.images.sort((a, b) => a.index - b.index);
  imagesChanged();
}

function maybeAutoSelect(session: SessionInfo): void {
  if (state.pinned) return;
  const current = state.selected ? state.sessions.get(state.selected) : undefined;
  if (!current || (session.timings.connectedAt >= current.timings.connectedAt && session.id !== current.id)) {
    void selectSession(session.id);
  }
}

function onEvent(event: RegistryEvent): void {
  if (event.type === 'session') {
    state.sessions.set(event.session.id, event.session);
    if (event.session.state !== 'completed' && event.session.state !== 'failed') maybeAutoSelect(event.session);
    renderSessions();
    // a distributed session's job started or ended: the workers' counts changed
    if (event.session.jobs.length > 0) void loadWorkers();
  } else if (event.type === 'image') {
    const s = state.sessions.get(event.session);
    if (s && s.images <= event.image.index) {
      s.images = event.image.index + 1;
      s.imagesKept += 1;
      renderSessions();
    }
    if (event.session !== state.selected) return;
    if (!state.images.some((i) => i.index === event.image.index)) {
      state.images.push(event.image);
      imagesChanged();
    }
  } else if (event.type === 'readiness') {
    els.status.textContent = event.ready ? 'ready' : 'draining';
  }
}

async function loadSessions(): Promise<void> {
  const res = await fetch('api/sessions');
  if (!res.ok) return;
  const body = (await res.json()) as { sessions: SessionInfo[] };
  for (const s of body.sessions) state.sessions.set(s.id, s);
  const newest = body.sessions[0];
  if (newest && !state.selected) void selectSession(newest.id);
  renderSessions();
}

async function loadWorkers(): Promise<void> {
  try {
    const res = await fetch('api/workers');
    if (!res.ok) return;
    const { workers } = (await res.json()) as { workers: WorkerInfo[] };
    if (workers.length === 0) {
      els.workers.innerHTML = '<p class="muted">No distributed worker pool.</p>';
      return;
    }
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const t of ['worker', 'state', 'active', 'done', 'failed']) head.insertCell().textContent = t;
    for (const w of workers) {
      const tr = table.insertRow();
      for (const v of [w.id, w.state, w.activeJobs, w.completedJobs, w.failedJobs]) tr.insertCell().textContent = String(v);
    }
    els.workers.replaceChildren(table);
  } catch {
    // the next poll tries again
  }
}

// ---------------------------------------------------------------- image axes

const frameKey = (i: ImageInfo): string => [i.contrast, i.set, i.average, i.repetition, i.phase].join('/');

function compareKeys(a: string, b: string): number {
  const x = a.split('/').map(Number);
  const y = b.split('/').map(Number);
  for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return (x[k] as number) - (y[k] as number);
  return 0;
}

function seriesImages(): ImageInfo[] {
  return state.images.filter((i) => i.series === state.series);
}

function imagesChanged(): void {
  const seriesList = [...new Set(state.images.map((i) => i.series))].sort((a, b) => a - b);
  if (state.series === undefined || !seriesList.includes(state.series)) state.series = seriesList[0];
  if (Array.from(els.series.options).map((o) => o.value).join(',') !== seriesList.join(',')) {
    els.series.replaceChildren(...seriesList.map((s) => new Option(`series ${s}`, String(s))));
  }
  if (state.series !== undefined) els.series.value = String(state.series);
  const images = seriesImages();
  const slices: SlicePosition[] = [];
  for (const slice of [...new Set(images.map((i) => i.slice))].sort((a, b) => a - b)) {
    const nz = Math.max(...images.filter((i) => i.slice === slice).map((i) => i.matrix[2]));
    for (let z = 0; z < nz; z++) slices.push({ slice, z });
  }
  state.slices = slices;
  state.frames = [...new Set(images.map(frameKey))].sort(compareKeys);
  els.slice.max = String(Math.max(0, slices.length - 1));
  els.frame.max = String(Math.max(0, state.frames.length - 1));
  const complex = images.some((i) => i.complex);
  for (const o of Array.from(els.part.options)) o.disabled = !complex && o.value !== 'magnitude';
  if (!complex && images.length > 0 && state.part !== 'magnitude') {
    // a part chosen for an earlier complex session means nothing for real images
    state.part = 'magnitude';
    els.part.value = 'magnitude';
    state.window = undefined;
    if (state.shown) void render();
  }
  els.placeholder.style.display = images.length === 0 ? 'grid' : 'none';
  if (!state.shown && images.length > 0) void render();
  updateAxisLabels();
}

function updateAxisLabels(): void {
  const s = state.slices[state.sliceIdx];
  els.slice.value = String(state.sliceIdx);
  els.frame.value = String(state.frameIdx);
  els.sliceOut.textContent = s ? `${state.sliceIdx + 1}/${state.slices.length} (slice ${s.slice}${s.z > 0 ? `, z ${s.z}` : ''})` : '–';
  const f = state.frames[state.frameIdx];
  const [contrast, set, average, repetition, phase] = (f ?? '').split('/');
  els.frameOut.textContent = f ? `${state.frameIdx + 1}/${state.frames.length} (rep ${repetition}, phase ${phase}${contrast !== '0' ? `, contrast ${contrast}` : ''}${set !== '0' ? `, set ${set}` : ''}${average !== '0' ? `, avg ${average}` : ''})` : '–';
}

function currentImage(): { image: ImageInfo; z: number } | undefined {
  const slot = state.slices[state.sliceIdx];
  const key = state.frames[state.frameIdx];
  if (!slot || key === undefined) return undefined;
  const matches = seriesImages().filter((i) => i.slice === slot.slice && frameKey(i) === key && slot.z < i.matrix[2]);
  const image = matches[matches.length - 1];
  return image ? { image, z: slot.z } : undefined;
}

// ---------------------------------------------------------------- drawing

async function pixels(image: ImageInfo, z: number, part: Part): Promise<Float32Array> {
  const key = `${state.selected}/${image.index}/${z}/${part}`;
  const cached = pixelCache.get(key);
  if (cached) return cached;
  const res = await fetch(`api/sessions/${encodeURIComponent(state.selected ?? '')}/images/${image.index}/raw?z=${z}&part=${part}`);
  if (!res.ok) throw new Error(`Cannot load image ${image.index}: HTTP ${res.status}`);
  const values = new Float32Array(await res.arrayBuffer());
  if (pixelCache.size > 512) pixelCache.delete(pixelCache.keys().next().value as string);
  pixelCache.set(key, values);
  return values;
}

function fullRange(values: Float32Array): DisplayWindow {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > lo ? { center: (lo + hi) / 2, width: hi - lo } : { center: lo, width: 1 };
}

function updatePresets(image: ImageInfo, values: Float32Array): void {
  const presets: Preset[] = [];
  const meta = state.part === 'magnitude' ? windowFromMeta(image.meta) : undefined;
  if (meta) presets.push({ name: `image meta (C ${meta.center}, W ${meta.width})`, window: meta });
  presets.push({ name: 'auto (1–99 %)', window: percentileWindow(values) });
  presets.push({ name: 'full range', window: fullRange(values) });
  state.presets = presets;
  els.preset.replaceChildren(new Option('custom', '-1'), ...presets.map((p, i) => new Option(p.name, String(i))));
  els.preset.value = '0';
}

function applyTransform(): void {
  els.canvas.style.transform = `translate(${state.panX}px, ${state.panY}px) scale(${state.zoom})`;
}

function fit(): void {
  const w = els.canvas.width;
  const h = els.canvas.height;
  const box = els.stage.getBoundingClientRect();
  state.zoom = Math.max(0.05, Math.min(box.width / w, box.height / h));
  state.panX = (box.width - w * state.zoom) / 2;
  state.panY = (box.height - h * state.zoom) / 2;
  applyTransform();
}

function draw(): void {
  const image = state.shown;
  const values = state.values;
  const window = state.window;
  if (!image || !values || !window) return;
  const [nx, ny] = image.matrix;
  const canvas = els.canvas;
  if (canvas.width !== nx || canvas.height !== ny) {
    canvas.width = nx;
    canvas.height = ny;
    state.fitted = false;
  }
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  const data = ctx.createImageData(nx, ny);
  applyWindow(values, window, data.data, 4);
  ctx.putImageData(data, 0, 0);
  if (!state.fitted) {
    fit();
    state.fitted = true;
  }
  state.renders += 1;
  Object.assign(canvas.dataset, {
    session: state.selected ?? '',
    imageIndex: String(image.index),
    z: String(state.slices[state.sliceIdx]?.z ?? 0),
    part: state.part,
    windowCenter: String(window.center),
    windowWidth: String(window.width),
    frame: String(state.frameIdx),
    renders: String(state.renders),
  });
  els.readout.textContent = `C ${window.center.toPrecision(5)}  W ${window.width.toPrecision(5)}  ·  zoom ${state.zoom.toFixed(2)}×  ·  drag: window/level, shift-drag or right-drag: pan, wheel: zoom`;
  renderHeader(image);
}

async function render(): Promise<void> {
  const found = currentImage();
  updateAxisLabels();
  if (!found) return;
  const token = ++state.renderToken;
  const values = await pixels(found.image, found.z, state.part);
  if (token !== state.renderToken) return;
  const first = state.shown === undefined;
  state.shown = found.image;
  state.values = values;
  if (first || state.window === undefined) {
    updatePresets(found.image, values);
    state.window = (state.presets[0] as Preset).window;
  }
  els.placeholder.style.display = 'none';
  draw();
}

const DATA_TYPES: Record<number, string> = { 1: 'ushort', 2: 'short', 3: 'uint', 4: 'int', 5: 'float', 6: 'double', 7: 'complex float', 8: 'complex double' };
const IMAGE_TYPES: Record<number, string> = { 0: '–', 1: 'magnitude', 2: 'phase', 3: 'real', 4: 'imag', 5: 'complex' };

function renderHeader(i: ImageInfo): void {
  const v3 = (v: readonly number[]): string => v.map((x) => Number(x.toFixed(3))).join(', ');
  const rows: [string, string][] = [
    ['output #', String(i.index)], ['series', String(i.series)], ['image_index', String(i.imageIndex)],
    ['matrix', i.matrix.join(' × ')], ['channels', String(i.channels)],
    ['data type', DATA_TYPES[i.dataType] ?? String(i.dataType)], ['image type', IMAGE_TYPES[i.imageType] ?? String(i.imageType)],
    ['slice', String(i.slice)], ['phase', String(i.phase)], ['repetition', String(i.repetition)], ['contrast', String(i.contrast)],
    ['set', String(i.set)], ['average', String(i.average)],
    ['FOV (mm)', v3(i.fieldOfView)], ['position', v3(i.position)], ['read_dir', v3(i.readDir)], ['phase_dir', v3(i.phaseDir)],
    ['slice_dir', v3(i.sliceDir)], ['acq. time stamp', String(i.acquisitionTimeStamp)],
    ...Object.entries(i.meta).map(([k, v]): [string, string] => [k, v.join(', ')]),
  ];
  const body = els.header.tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement('tr');
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
    return tr;
  }));
}

// ---------------------------------------------------------------- interaction

function stopCine(): void {
  if (state.timer !== undefined) clearInterval(state.timer);
  state.timer = undefined;
  state.playing = false;
  els.play.textContent = '▶ Play';
}

function startCine(): void {
  stopCine();
  const fps = Math.min(60, Math.max(1, Number(els.fps.value) || 10));
  state.playing = true;
  els.play.textContent = '❚❚ Pause';
  state.timer = window.setInterval(() => {
    if (state.frames.length < 2) return;
    state.frameIdx = (state.frameIdx + 1) % state.frames.length;
    void render();
  }, 1000 / fps);
}

els.play.addEventListener('click', () => (state.playing ? stopCine() : startCine()));
els.fps.addEventListener('change', () => {
  if (state.playing) startCine();
});
els.slice.addEventListener('input', () => {
  state.sliceIdx = Number(els.slice.value);
  void render();
});
els.frame.addEventListener('input', () => {
  state.frameIdx = Number(els.frame.value);
  void render();
});
els.series.addEventListener('change', () => {
  state.series = Number(els.series.value);
  state.sliceIdx = 0;
  state.frameIdx = 0;
  state.window = undefined;
  imagesChanged();
  void render();
});
els.part.addEventListener('change', () => {
  state.part = els.part.value as Part;
  state.window = undefined;
  void render();
});
els.preset.addEventListener('change', () => {
  const preset = state.presets[Number(els.preset.value)];
  if (!preset) return;
  state.window = { ...preset.window };
  draw();
});
els.resetView.addEventListener('click', () => fit());

let drag: { x: number; y: number; mode: 'window' | 'pan'; window: DisplayWindow; panX: number; panY: number } | undefined;
els.stage.addEventListener('contextmenu', (e) => e.preventDefault());
els.stage.addEventListener('pointerdown', (e) => {
  if (!state.window) return;
  els.stage.setPointerCapture(e.pointerId);
  drag = { x: e.clientX, y: e.clientY, mode: e.button !== 0 || e.shiftKey ? 'pan' : 'window', window: { ...state.window }, panX: state.panX, panY: state.panY };
});
els.stage.addEventListener('pointermove', (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x;
  const dy = e.clientY - drag.y;
  if (drag.mode === 'pan') {
    state.panX = drag.panX + dx;
    state.panY = drag.panY + dy;
    applyTransform();
    return;
  }
  const step = Math.max(drag.window.width, 1e-6) / 256;
  state.window = { center: drag.window.center - dy * step, width: Math.max(1e-6, drag.window.width + dx * step) };
  els.preset.value = '-1';
  draw();
});
const endDrag = (): void => {
  drag = undefined;
};
els.stage.addEventListener('pointerup', endDrag);
els.stage.addEventListener('pointercancel', endDrag);
els.stage.addEventListener('wheel', (e) => {
  e.preventDefault();
  const box = els.stage.getBoundingClientRect();
  const cx = e.clientX - box.left;
  const cy = e.clientY - box.top;
  const factor = Math.exp(-e.deltaY / 500);
  const zoom = Math.min(64, Math.max(0.05, state.zoom * factor));
  state.panX = cx - ((cx - state.panX) * zoom) / state.zoom;
  state.panY = cy - ((cy - state.panY) * zoom) / state.zoom;
  state.zoom = zoom;
  applyTransform();
}, { passive: false });
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    state.sliceIdx = Math.min(Math.max(0, state.sliceIdx + (e.key === 'ArrowUp' ? 1 : -1)), Math.max(0, state.slices.length - 1));
    void render();
  } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
    state.frameIdx = Math.min(Math.max(0, state.frameIdx + (e.key === 'ArrowRight' ? 1 : -1)), Math.max(0, state.frames.length - 1));
    void render();
  } else if (e.key === ' ') {
    e.preventDefault();
    if (state.playing) stopCine();
    else startCine();
  }
});

// ---------------------------------------------------------------- start

function connect(): void {
  const source = new EventSource('api/events');
  source.onopen = () => {
    els.status.textContent = 'live';
    void loadSessions();
  };
  source.onerror = () => {
    els.status.textContent = 'reconnecting…';
    // a server started with --http-token-file forgets page sign-ins when it restarts: sign in again
    if (source.readyState === EventSource.CLOSED) {
      void fetch('api/server').then((res) => {
        if (res.status === 401) window.location.assign('./');
        else window.setTimeout(connect, 2000);
      }, () => window.setTimeout(connect, 2000));
    }
  };
  for (const type of ['session', 'image', 'readiness'] as const) {
    source.addEventListener(type, (e) => onEvent(JSON.parse((e as MessageEvent<string>).data) as RegistryEvent));
  }
}

/** What tests and scripts can read: the viewer state. */
(window as unknown as { gantryViewer: unknown }).gantryViewer = {
  get selected() { return state.selected; },
  get frames() { return state.frames.length; },
  get slices() { return state.slices.length; },
  get frameIndex() { return state.frameIdx; },
  get playing() { return state.playing; },
  get window() { return state.window; },
  get renders() { return state.renders; },
};

connect();
void loadWorkers();
window.setInterval(() => void loadWorkers(), 5000);
window.setInterval(() => {
  if ([...state.sessions.values()].some((s) => s.state !== 'completed' && s.state !== 'failed')) void loadSessions();
}, 1000);
