import test, { after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { decodeAcquisitionHeader, encodeAcquisitionHeader } from '../ismrmrd/header-codec.js';
import { serializeMeta } from '../ismrmrd/meta.js';
import {
  AcqFlag, DataType, emptyImageHeader, emptyWaveformHeader, isFlagSet,
  type Image, type ImageHeader, type ImagePixels, type MetaContainer, type Waveform,
} from '../ismrmrd/types.js';
import { hdf5Available, hdf5UnavailableReason, IsmrmrdFile, normalizeGroup } from './ismrmrd-hdf5.js';

const CLIENT_GROUP = '2024-11-22 10:10:37';
let dir = '';

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => d && existsSync(join(d, tool)));
}

/** Skips the test (returning false) when the addon or one of the Debian tools is missing. */
function need(t: TestContext, ...tools: string[]): boolean {
  if (!hdf5Available()) {
    t.skip(`ISMRMRD HDF5 addon not installed: ${hdf5UnavailableReason()}`);
    return false;
  }
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    t.skip(`${missing.join(', ')} not installed (Debian ismrmrd-tools / hdf5-tools)`);
    return false;
  }
  return true;
}

function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const generated = new Map<string, string>();
/** Generates (once) a Shepp-Logan phantom dataset with the given generator arguments. */
function phantom(name: string, args: string[]): string {
  const cached = generated.get(name);
  if (cached) return cached;
  const out = join(dir, name);
  const r = run('ismrmrd_generate_cartesian_shepp_logan', ['-o', out, ...args]);
  assert.equal(r.status, 0, `generator failed: ${r.stderr}`);
  generated.set(name, out);
  return out;
}

/** Writes header + all acquisitions of `src` into a new file with IsmrmrdFile. */
function copyDataset(src: string, dst: string): void {
  const from = IsmrmrdFile.open(src, 'dataset', { readOnly: true });
  const to = IsmrmrdFile.open(dst, '/dataset', { create: true });
  try {
    const xml = from.readHeader();
    assert.ok(xml);
    to.writeHeader(xml);
    for (const a of from.acquisitions()) to.appendAcquisition(a);
  } finally {
    to.close();
    from.close();
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-hdf5-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('ismrmrd-hdf5 reads every acquisition of the Cartesian phantom bit for bit', (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan')) return;
  const file = IsmrmrdFile.open(phantom('sl.h5', ['-C', '-r', '2']), 'dataset');
  try {
    const n = file.acquisitionCount();
    assert.equal(n, 1 + 2 * 256);
    const xml = file.readHeader() ?? '';
    assert.match(xml, /<ismrmrdHeader/);
    assert.equal(file.waveformCount(), 0);

    const started = performance.now();
    const raws = file.readRawAcquisitions(0, n);
    const acqs = [...file.acquisitions()];
    assert.ok(performance.now() - started < 2000, 'bulk reads are fast');
    assert.equal(raws.length, n);
    assert.equal(acqs.length, n);

    for (let i = 0; i < n; i++) {
      const raw = raws[i]!;
      const head = decodeAcquisitionHeader(raw.head);
      assert.equal(raw.head.length, 340);
      assert.deepEqual(encodeAcquisitionHeader(head), raw.head, `header bytes of acquisition ${i}`);
      assert.equal(raw.data.length, 2 * head.number_of_samples * head.active_channels, `data length ${i}`);
      assert.equal(raw.traj.length, head.number_of_samples * head.trajectory_dimensions, `traj length ${i}`);
      assert.deepEqual(acqs[i]!.head, head);
      assert.deepEqual(acqs[i]!.data, raw.data);
    }

    const noise = acqs[0]!;
    assert.ok(isFlagSet(noise.head.flags, AcqFlag.IS_NOISE_MEASUREMENT));
    assert.ok(acqs.slice(1).every((a) => !isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT)));
    const firsts = acqs.filter((a) => isFlagSet(a.head.flags, AcqFlag.FIRST_IN_SLICE));
    const lasts = acqs.filter((a) => isFlagSet(a.head.flags, AcqFlag.LAST_IN_SLICE));
    assert.deepEqual(firsts.map((a) => a.head.idx.repetition), [0, 1]);
    assert.deepEqual(lasts.map((a) => a.head.idx.kspace_encode_step_1), [255, 255]);
    const line = acqs[1]!.head;
    assert.equal(line.number_of_samples, 512);
    assert.equal(line.active_channels, 8);
    assert.equal(line.trajectory_dimensions, 0);
    assert.equal(acqs.at(-1)!.head.idx.repetition, 1);

    const one = file.readAcquisition(100);
    assert.deepEqual(one.head, acqs[100]!.head);
    assert.deepEqual(one.data, acqs[100]!.data);
  } finally {
    file.close();
  }
});

test('ismrmrd-hdf5 reads trajectories of the radial-style -k phantom', (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan')) return;
  const file = IsmrmrdFile.open(phantom('sl_k.h5', ['-m', '64', '-c', '4', '-k']), 'dataset', { readOnly: true });
  try {
    assert.equal(file.readOnly, true);
    const raws = file.readRawAcquisitions(0, file.acquisitionCount());
    assert.equal(raws.length, 64);
    for (const [i, raw] of raws.entries()) {
      const head = decodeAcquisitionHeader(raw.head);
      assert.deepEqual(encodeAcquisitionHeader(head), raw.head, `header bytes of acquisition ${i}`);
      assert.equal(head.number_of_samples, 128);
      assert.equal(head.active_channels, 4);
      assert.equal(head.trajectory_dimensions, 2);
      assert.equal(raw.traj.length, 256);
      assert.equal(raw.data.length, 1024);
      assert.ok(raw.traj.every((k) => k >= -0.5 && k < 0.5), `trajectory range ${i}`);
    }
    assert.ok(isFlagSet(decodeAcquisitionHeader(raws[0]!.head).flags, AcqFlag.FIRST_IN_SLICE));
  } finally {
    file.close();
  }
});

test('ismrmrd-hdf5 reads acquisition blocks on a worker thread, bounded in bytes, as views of one buffer', async (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan')) return;
  for (const [name, args] of [['sl.h5', ['-C', '-r', '2']], ['sl_k.h5', ['-m', '64', '-c', '4', '-k']]] as const) {
    const file = IsmrmrdFile.open(phantom(name, [...args]), 'dataset', { readOnly: true });
    try {
      const n = file.acquisitionCount();
      const raws = file.readRawAcquisitions(0, n);
      const rowBytes = (i: number): number => 4 * (raws[i]!.data.length + raws[i]!.traj.length);
      const limit = 5 * rowBytes(n - 1) + 7;
      let seen = 0;
      let blocks = 0;
      for await (const block of file.acquisitionBlocks({ blockBytes: limit, blockRows: 100 })) {
        blocks += 1;
        assert.ok(block.length >= 1 && block.length <= 100, `${name}: block of ${block.length} rows`);
        let bytes = 0;
        for (const [k, acq] of block.entries()) {
          const raw = raws[seen + k]!;
          bytes += rowBytes(seen + k);
          assert.deepEqual(encodeAcquisitionHeader(acq.head), raw.head, `${name}: header ${seen + k}`);
          assert.deepEqual(acq.data, raw.data, `${name}: data ${seen + k}`);
          assert.deepEqual(acq.traj, raw.traj, `${name}: trajectory ${seen + k}`);
          assert.equal(acq.data.buffer, block[0]!.data.buffer, `${name}: one buffer per block`);
          assert.ok(acq.data.buffer instanceof SharedArrayBuffer, `${name}: the samples are shared memory (compute threads read them in place)`);
        }
        assert.ok(block.length === 1 || bytes <= limit, `${name}: ${bytes} bytes in a block limited to ${limit}`);
        seen += block.length;
      }
      assert.equal(seen, n);
      assert.ok(blocks >= Math.ceil(n / 100), `${name}: ${blocks} blocks`);

      const tail = await file.readAcquisitionBlock(n - 3, 3, Number.MAX_SAFE_INTEGER);
      assert.deepEqual(tail.map((a) => a.data), raws.slice(n - 3).map((r) => r.data));
      assert.equal((await file.readAcquisitionBlock(n, 0)).length, 0);
      await assert.rejects(file.readAcquisitionBlock(n - 1, 2), (err: Error & { code?: string }) =>
        err.code === 'ERR_OUT_OF_RANGE' && new RegExp(`Cannot read acquisitions ${n - 1}\\.\\.${n + 1} from .*${name} group /dataset: rows`).test(err.message));
      await assert.rejects(file.readAcquisitionBlock(-1, 1), RangeError);
    } finally {
      file.close();
    }
  }
});

test('ismrmrd-hdf5 block reads give the same rows raw from the heap collections as through HDF5 (GANTRY_HDF5_RAW=off)', async (t) => {
  if (!need(t)) return;
  const path = join(dir, 'raw-vs-hdf5.h5');
  // Small rows share global heap collections (the walking path); big ones have a collection each (the one-read path);
  // the file stays open for writing, so rows appended after a read must be seen by the next one.
  const file = IsmrmrdFile.open(path, 'dataset', { create: true });
  const append = (i: number): void => {
    const samples = i % 3 === 0 ? 2048 : 3 + (i % 5);
    const channels = 1 + (i % 2);
    const head = { ...decodeAcquisitionHeader(new Uint8Array(340)), number_of_samples: samples, active_channels: channels, available_channels: channels, scan_counter: i, trajectory_dimensions: i % 4 === 1 ? 2 : 0 };
    const traj = new Float32Array(head.trajectory_dimensions * samples).map((_v, k) => i + k / 1000);
    const data = new Float32Array(2 * samples * channels).map((_v, k) => i * 1000 + k);
    file.appendAcquisition({ kind: 'acquisition', head, traj, data });
  };
  const readAll = async (): Promise<string[]> => {
    const rows: string[] = [];
    for await (const block of file.acquisitionBlocks({ blockBytes: 20_000, blockRows: 7 })) {
      for (const a of block) rows.push(`${a.head.scan_counter} ${a.head.number_of_samples} ${Array.from(a.traj).join(',')} ${Array.from(a.data).join(',')}`);
    }
    return rows;
  };
  const saved = process.env['GANTRY_HDF5_RAW'];
  try {
    for (let i = 0; i < 40; i++) append(i);
    const raw = await readAll();
    for (let i = 40; i < 60; i++) append(i);
    const rawMore = await readAll();
    process.env['GANTRY_HDF5_RAW'] = 'off';
    const viaHdf5 = await readAll();
    assert.equal(raw.length, 40);
    assert.deepEqual(rawMore.slice(0, 40), raw);
    assert.equal(viaHdf5.length, 60);
    assert.deepEqual(rawMore, viaHdf5);
    assert.ok(viaHdf5[3]!.startsWith('3 2048 '), 'rows as written');
  } finally {
    if (saved === undefined) delete process.env['GANTRY_HDF5_RAW'];
    else process.env['GANTRY_HDF5_RAW'] = saved;
    file.close();
  }
});

test('ismrmrd-hdf5 block reads of a read-only file map the samples: the same rows as copied reads, writes stay private', async (t) => {
  if (!need(t)) return;
  const path = join(dir, 'mapped.h5');
  // Big rows (a heap collection each: mapped), some with trajectories (which may share a collection with the samples:
  // copied), and small rows (sharing collections: copied).
  const writer = IsmrmrdFile.open(path, 'dataset', { create: true });
  for (let i = 0; i < 30; i++) {
    const samples = i < 20 ? 1024 + 32 * (i % 3) : 3 + (i % 4);
    const channels = 1 + (i % 2);
    const head = { ...decodeAcquisitionHeader(new Uint8Array(340)), number_of_samples: samples, active_channels: channels, available_channels: channels, scan_counter: i, trajectory_dimensions: i >= 10 && i % 5 === 1 ? 2 : 0 };
    const traj = new Float32Array(head.trajectory_dimensions * samples).map((_v, k) => i + k / 1000);
    const data = new Float32Array(2 * samples * channels).map((_v, k) => i * 1000 + k);
    writer.appendAcquisition({ kind: 'acquisition', head, traj, data });
  }
  writer.close();
  const file = IsmrmrdFile.open(path, 'dataset', { readOnly: true });
  const rowsOf = (acqs: readonly { head: { scan_counter: number }; traj: Float32Array; data: Float32Array }[]): string[] =>
    acqs.map((a) => `${a.head.scan_counter} ${Array.from(a.traj).join(',')} ${Array.from(a.data).join(',')}`);
  const readAll = async (): Promise<string[]> => {
    const rows: string[] = [];
    for await (const block of file.acquisitionBlocks({ blockBytes: 40_000, blockRows: 6 })) rows.push(...rowsOf(block));
    return rows;
  };
  const saved = process.env['GANTRY_HDF5_MMAP'];
  try {
    const first = await file.readAcquisitionBlock(0, 4);
    if (existsSync('/proc/self/maps')) assert.ok(readFileSync('/proc/self/maps', 'utf8').includes(path), 'the block is a mapping of the file');
    assert.ok(first[0]!.data.buffer instanceof SharedArrayBuffer, 'a mapped block is shared memory too');
    const before = rowsOf(first);
    first[0]!.data.fill(-1);
    first[2]!.data[5] = -2;
    const mapped = await readAll();
    assert.deepEqual(mapped.slice(0, 4), before, 'writing into a mapped block changes neither the file nor later reads');
    process.env['GANTRY_HDF5_MMAP'] = 'off';
    const copied = await readAll();
    assert.equal(mapped.length, 30);
    assert.deepEqual(mapped, copied);
    assert.ok(mapped[1]!.startsWith('1  1000,1001,'), 'rows as written');
    assert.ok(mapped[11]!.startsWith('11 11,11.0'), 'rows as written');
  } finally {
    if (saved === undefined) delete process.env['GANTRY_HDF5_MMAP'];
    else process.env['GANTRY_HDF5_MMAP'] = saved;
    file.close();
  }
  assert.equal(readFileSync(path).includes(Buffer.from(new Float32Array(64).fill(-1).buffer)), false, 'the file is untouched');
});

test('ismrmrd-hdf5 closing a file while a block read is queued fails the read, never the process', async (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan')) return;
  const file = IsmrmrdFile.open(phantom('sl.h5', ['-C', '-r', '2']), 'dataset', { readOnly: true });
  const n = file.acquisitionCount();
  const reads = [file.readAcquisitionBlock(0, n), file.readAcquisitionBlock(1, n - 1)];
  file.close();
  for (const outcome of await Promise.allSettled(reads)) {
    if (outcome.status === 'fulfilled') assert.ok(outcome.value.length > 0);
    else assert.match(String(outcome.reason), /Cannot read acquisitions .*: the dataset was closed/);
  }
  assert.throws(() => file.acquisitionCount(), /it is closed/);
});

test('ismrmrd-hdf5 block reads reject rows whose header misstates their length, with the row named', async (t) => {
  if (!need(t)) return;
  const path = join(dir, 'lying.h5');
  const file = IsmrmrdFile.open(path, 'dataset', { create: true });
  const marker = [0x5a17c0de, 0x0badf00d];
  for (let i = 0; i < 3; i++) {
    const head = { ...decodeAcquisitionHeader(new Uint8Array(340)), number_of_samples: 4, active_channels: 2, available_channels: 2, scan_counter: i };
    head.user_int = [marker[0]!, marker[1]!, i, 0, 0, 0, 0, 0];
    file.appendAcquisition({ kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(16).fill(i + 1) });
  }
  file.close();
  // Patch the stored number_of_samples of rows 1 (understated: 2) and 2 (overstated: 9); user_int sits 276 bytes into the header.
  const bytes = readFileSync(path);
  const needle = Buffer.alloc(8);
  needle.writeUInt32LE(marker[0]!, 0);
  needle.writeUInt32LE(marker[1]!, 4);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    const row = bytes.readUInt32LE(at + 8);
    if (row === 1) bytes.writeUInt16LE(2, at - 276 + 34);
    if (row === 2) bytes.writeUInt16LE(9, at - 276 + 34);
  }
  writeFileSync(path, bytes);

  const lying = IsmrmrdFile.open(path, 'dataset', { readOnly: true });
  try {
    assert.deepEqual(lying.readAcquisitions(0, 1)[0]!.data, new Float32Array(16).fill(1));
    assert.throws(() => lying.readAcquisitions(0, 3), /Cannot read acquisition 1 from .*lying\.h5 group \/dataset: data length 16 does not match 2 samples × 2 channels × 2/);
    await assert.rejects(lying.readAcquisitionBlock(1, 1), /Cannot read acquisition 1 from .*data length 16 does not match 2 samples/);
    await assert.rejects(lying.readAcquisitionBlock(2, 1), /Cannot read acquisition 2 from .*data length 16 does not match 9 samples/);
    const raw = lying.readRawAcquisitions(1, 2);
    assert.deepEqual(raw.map((r) => r.data), [new Float32Array(16).fill(2), new Float32Array(16).fill(3)], 'the stored samples are intact');
  } finally {
    lying.close();
  }

  // A row far larger than its header says (33 MB stored, 1 KB claimed) overflows the block's buffer: the read falls back and still names the row.
  const bigPath = join(dir, 'lying-big.h5');
  const big = IsmrmrdFile.open(bigPath, 'dataset', { create: true });
  const bigHead = { ...decodeAcquisitionHeader(new Uint8Array(340)), number_of_samples: 65535, active_channels: 64, available_channels: 64 };
  bigHead.user_int = [marker[0]!, marker[1]!, 7, 0, 0, 0, 0, 0];
  const small = { ...bigHead, number_of_samples: 4, active_channels: 2, available_channels: 2, user_int: [0, 0, 0, 0, 0, 0, 0, 0] };
  big.appendAcquisition({ kind: 'acquisition', head: small, traj: new Float32Array(0), data: new Float32Array(16).fill(5) });
  big.appendAcquisition({ kind: 'acquisition', head: bigHead, traj: new Float32Array(0), data: new Float32Array(2 * 65535 * 64).fill(6) });
  big.appendAcquisition({ kind: 'acquisition', head: small, traj: new Float32Array(0), data: new Float32Array(16).fill(7) });
  big.close();
  const bigBytes = readFileSync(bigPath);
  const at = bigBytes.indexOf(needle);
  assert.ok(at > 276);
  bigBytes.writeUInt16LE(4, at - 276 + 34);
  writeFileSync(bigPath, bigBytes);
  const overflow = IsmrmrdFile.open(bigPath, 'dataset', { readOnly: true });
  try {
    assert.throws(() => overflow.readAcquisitions(0, 3), /Cannot read acquisition 1 from .*data length 8388480 does not match 4 samples × 64 channels × 2/);
    await assert.rejects(overflow.readAcquisitionBlock(0, 3), /Cannot read acquisition 1 from .*data length 8388480 does not match 4 samples/);
    assert.deepEqual((await overflow.readAcquisitionBlock(2, 1))[0]!.data, new Float32Array(16).fill(7));
  } finally {
    overflow.close();
  }
});

test('ismrmrd-hdf5 writes a copy identical to the original (h5diff)', (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan', 'h5diff')) return;
  for (const [name, args] of [['sl.h5', ['-C', '-r', '2']], ['sl_k.h5', ['-m', '64', '-c', '4', '-k']]] as const) {
    const src = phantom(name, [...args]);
    const dst = join(dir, `copy_${name}`);
    copyDataset(src, dst);
    for (const ds of ['/dataset/data', '/dataset/xml']) {
      const r = run('h5diff', ['-r', src, dst, ds, ds]);
      assert.equal(r.status, 0, `h5diff ${name} ${ds}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /0 differences found/);
    }
  }
});

function meta(entries: Record<string, string[]>): MetaContainer {
  return new Map(Object.entries(entries));
}

function image(
  series: number, index: number, dataType: number, size: [number, number, number], channels: number,
  data: ImagePixels, m: MetaContainer = new Map(),
): Image {
  const head: ImageHeader = {
    ...emptyImageHeader(), data_type: dataType, matrix_size: [...size], channels, image_series_index: series,
    image_index: index, image_type: 1, field_of_view: [220, 220, 5], read_dir: [1, 0, 0], phase_dir: [0, 1, 0],
    slice_dir: [0, 0, 1], position: [1.5, -2.25, 3], flags: 1n << 56n, measurement_uid: 77, user_int: [1, -2, 3, 0, 0, 0, 0, 9],
    user_float: [0.5, 0, 0, 0, 0, 0, 0, -1.25], physiology_time_stamp: [1, 2, 3], acquisition_time_stamp: 123456,
  };
  return { kind: 'image', head, meta: m, data };
}

function fill<T extends ImagePixels>(arr: T, f: (i: number) => number): T {
  for (let i = 0; i < arr.length; i++) arr[i] = f(i);
  return arr;
}

function sortedMeta(m: MetaContainer): [string, string[]][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

test('ismrmrd-hdf5 stores images like gadgetron_ismrmrd_client and reads them back', (t) => {
  if (!need(t, 'h5dump')) return;
  const path = join(dir, 'out_client_like.h5');
  const roleMeta = meta({ GADGETRON_DataRole: ['Image'], GADGETRON_ImageNumber: ['1'], b: ['128.5', '0.001'] });
  const images: Image[] = [
    image(1, 1, DataType.FLOAT, [64, 48, 1], 1, fill(new Float32Array(64 * 48), (i) => i * 0.5), roleMeta),
    image(1, 2, DataType.FLOAT, [64, 48, 1], 1, fill(new Float32Array(64 * 48), (i) => -i), meta({ c: ['x<&>'] })),
    image(2, 1, DataType.USHORT, [32, 32, 1], 1, fill(new Uint16Array(32 * 32), (i) => i % 4096)),
    image(3, 1, DataType.CXFLOAT, [16, 16, 2], 4, fill(new Float32Array(2 * 16 * 16 * 2 * 4), (i) => i / 7), roleMeta),
    image(4, 1, DataType.SHORT, [8, 4, 1], 1, fill(new Int16Array(32), (i) => i - 16)),
    image(5, 1, DataType.UINT, [8, 4, 1], 2, fill(new Uint32Array(64), (i) => 4e9 - i)),
    image(6, 1, DataType.INT, [8, 4, 1], 1, fill(new Int32Array(32), (i) => -2e9 + i)),
    image(7, 1, DataType.DOUBLE, [8, 4, 3], 1, fill(new Float64Array(96), (i) => Math.PI * i)),
    image(1000, 1, DataType.CXDOUBLE, [4, 4, 1], 2, fill(new Float64Array(64), (i) => 1 / (i + 1))),
  ];
  const out = IsmrmrdFile.open(path, CLIENT_GROUP, { create: true });
  try {
    for (const im of images) out.appendImage(im);
  } finally {
    out.close();
  }

  const dataset = (series: string, leaf: string): string => {
    const r = run('h5dump', ['-H', '-d', `/${CLIENT_GROUP}/${series}/${leaf}`, path]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const expectData = (series: string, type: RegExp, dims: string): void => {
    const dump = dataset(series, 'data');
    assert.match(dump, type, `${series} element type`);
    assert.ok(dump.includes(`DATASPACE  SIMPLE { ( ${dims} ) / ( H5S_UNLIMITED, ${dims.split(', ').slice(1).join(', ')} ) }`),
      `${series} dims ${dims}:\n${dump}`);
  };
  expectData('image_1', /DATATYPE {2}H5T_IEEE_F32LE/, '2, 1, 1, 48, 64');
  expectData('image_2', /DATATYPE {2}H5T_STD_U16LE/, '1, 1, 1, 32, 32');
  expectData('image_3', /H5T_IEEE_F32LE "real";\s+H5T_IEEE_F32LE "imag";/, '1, 4, 2, 16, 16');
  expectData('image_4', /DATATYPE {2}H5T_STD_I16LE/, '1, 1, 1, 4, 8');
  expectData('image_5', /DATATYPE {2}H5T_STD_U32LE/, '1, 2, 1, 4, 8');
  expectData('image_6', /DATATYPE {2}H5T_STD_I32LE/, '1, 1, 1, 4, 8');
  expectData('image_7', /DATATYPE {2}H5T_IEEE_F64LE/, '1, 1, 3, 4, 8');
  expectData('image_1000', /H5T_IEEE_F64LE "real";\s+H5T_IEEE_F64LE "imag";/, '1, 2, 1, 4, 4');
  assert.match(dataset('image_1', 'header'), /H5T_STD_U32LE "attribute_string_len";[\s\S]*SIMPLE \{ \( 2 \) \/ \( H5S_UNLIMITED \) \}/);
  assert.match(dataset('image_1', 'attributes'), /STRSIZE H5T_VARIABLE;[\s\S]*SIMPLE \{ \( 2 \) \/ \( H5S_UNLIMITED \) \}/);
  const noMeta = run('h5dump', ['-d', `/${CLIENT_GROUP}/image_2/attributes`, path]).stdout;
  assert.match(noMeta, /\(0\): NULL/);

  const back = IsmrmrdFile.open(path, CLIENT_GROUP);
  try {
    assert.deepEqual(back.imageSeriesNames(), ['image_1', 'image_2', 'image_3', 'image_4', 'image_5', 'image_6', 'image_7', 'image_1000']);
    const read = back.imageSeriesNames().flatMap((name) => back.readImages(name));
    assert.equal(read.length, images.length);
    for (const [i, got] of read.entries()) {
      const want = images[i]!;
      const attrLen = want.meta.size ? Buffer.byteLength(serializeMeta(want.meta)) : 0;
      assert.deepEqual(got.head, { ...want.head, attribute_string_len: attrLen }, `header of image ${i}`);
      assert.deepEqual(sortedMeta(got.meta), sortedMeta(want.meta), `meta of image ${i}`);
      assert.equal(got.data.constructor, want.data.constructor);
      assert.deepEqual(got.data, want.data, `pixels of image ${i}`);
    }
    assert.equal(back.imageCount('image_1'), 2);
    assert.equal(back.readImages('image_1', 1).length, 1);
  } finally {
    back.close();
  }

  // The client appends to an existing file and group.
  const again = IsmrmrdFile.open(path, CLIENT_GROUP, { create: true });
  try {
    again.appendImage(images[2]!);
    assert.equal(again.imageCount('image_2'), 2);
    assert.throws(
      () => again.appendImage(image(2, 9, DataType.USHORT, [16, 16, 1], 1, new Uint16Array(256))),
      /Cannot append image to \/2024-11-22 10:10:37\/image_2 .*stored images are 32x32x1 with 1 channel\(s\) but this one is 16x16x1/,
    );
    assert.throws(
      () => again.appendImage(image(2, 9, DataType.FLOAT, [32, 32, 1], 1, new Float32Array(1024))),
      /different element type/,
    );
    assert.throws(() => again.appendImage(image(9, 1, DataType.FLOAT, [4, 4, 1], 1, new Float64Array(16))), TypeError);
    assert.throws(() => again.appendImage(image(9, 1, DataType.FLOAT, [4, 4, 1], 1, new Float32Array(15))), RangeError);
    assert.throws(() => again.appendImage(image(9, 1, 11, [4, 4, 1], 1, new Float32Array(16))), RangeError);
    assert.equal(again.imageCount('image_2'), 2, 'failed appends leave the file unchanged');
  } finally {
    again.close();
  }
});

test('ismrmrd-hdf5 appendImageAsync writes on a worker thread what appendImage writes, in call order', async (t) => {
  if (!need(t, 'h5diff')) return;
  const images: Image[] = [
    image(1, 1, DataType.FLOAT, [64, 48, 1], 1, fill(new Float32Array(64 * 48), (i) => i * 0.5), meta({ a: ['1'] })),
    image(1, 2, DataType.FLOAT, [64, 48, 1], 1, fill(new Float32Array(64 * 48), (i) => -i)),
    image(2, 1, DataType.USHORT, [32, 32, 1], 1, fill(new Uint16Array(32 * 32), (i) => i % 4096)),
    image(3, 1, DataType.CXFLOAT, [16, 16, 2], 4, fill(new Float32Array(2 * 16 * 16 * 2 * 4), (i) => i / 7), meta({ b: ['x<&>'] })),
    image(1, 3, DataType.FLOAT, [64, 48, 1], 1, fill(new Float32Array(64 * 48), (i) => i % 17)),
  ];
  const syncPath = join(dir, 'images-sync.h5');
  const asyncPath = join(dir, 'images-async.h5');
  const sync = IsmrmrdFile.open(syncPath, 'dataset', { create: true });
  for (const im of images) sync.appendImage(im);
  sync.close();
  const out = IsmrmrdFile.open(asyncPath, 'dataset', { create: true });
  try {
    // Issued without waiting: they still land in call order, and each image is copied at the call.
    const writes = images.map((im) => out.appendImageAsync(im));
    const saved = Float32Array.from(images[0]!.data as Float32Array);
    (images[0]!.data as Float32Array).fill(-7);
    await Promise.all(writes);
    await out.writesDone();
    (images[0]!.data as Float32Array).set(saved);
  } finally {
    out.close();
  }
  const diff = run('h5diff', [syncPath, asyncPath]);
  assert.equal(diff.status, 0, `${diff.stdout}${diff.stderr}`);

  // Failures reject (with appendImage's text), as do the writes after them; a closed file rejects, never crashes.
  const again = IsmrmrdFile.open(asyncPath, 'dataset', { create: true });
  const bad = again.appendImageAsync(image(2, 9, DataType.USHORT, [16, 16, 1], 1, new Uint16Array(256)));
  const after = again.appendImageAsync(images[2]!);
  await assert.rejects(bad, /Cannot append image to \/dataset\/image_2 .*stored images are 32x32x1 with 1 channel\(s\) but this one is 16x16x1/);
  await assert.rejects(after, /stored images are 32x32x1/);
  await assert.rejects(again.writesDone(), /stored images are 32x32x1/);
  assert.throws(() => again.appendImageAsync(image(9, 1, DataType.FLOAT, [4, 4, 1], 1, new Float64Array(16))), TypeError);
  again.close();
  assert.throws(() => again.appendImageAsync(images[0]!), /closed/);
  const readOnly = IsmrmrdFile.open(asyncPath, 'dataset', { readOnly: true });
  try {
    assert.equal(readOnly.imageCount('image_2'), 1, 'failed appends leave the file unchanged');
    await assert.rejects(readOnly.appendImageAsync(images[0]!), /Cannot append image to \/dataset\/image_1 .*the file is open read-only/);
  } finally {
    readOnly.close();
  }
  const closing = IsmrmrdFile.open(asyncPath, 'dataset', { create: true });
  const pending = closing.appendImageAsync(images[1]!);
  closing.close();
  await pending.then(() => undefined, (err: unknown) => assert.match(String(err), /Cannot use an ISMRMRD dataset after close\(\)|Cannot append image to .*: the dataset was closed/));
});

test('ismrmrd-hdf5 writes and reads waveforms in <group>/waveforms', (t) => {
  if (!need(t, 'h5dump')) return;
  const path = join(dir, 'waves.h5');
  const waves: Waveform[] = [0, 1, 2].map((k) => ({
    kind: 'waveform',
    head: {
      ...emptyWaveformHeader(), flags: 3n, measurement_uid: 5, scan_counter: 10 + k, time_stamp: 1000 * k,
      number_of_samples: 20 + k, channels: 1 + k, sample_time_us: 2.5, waveform_id: k === 2 ? 1024 : k,
    },
    data: fill(new Uint32Array((20 + k) * (1 + k)), (i) => (i * 2654435761) >>> 0),
  }));
  const file = IsmrmrdFile.open(path, 'dataset', { create: true });
  try {
    assert.equal(file.waveformCount(), 0);
    for (const w of waves) file.appendWaveform(w);
    assert.equal(file.waveformCount(), 3);
    assert.deepEqual([...file.waveforms()], waves);
    assert.deepEqual(file.readWaveform(1), waves[1]);
    assert.throws(
      () => file.appendWaveform({ ...waves[0]!, data: new Uint32Array(3) }),
      /data length 3 does not match 20 samples x 1 channels/,
    );
  } finally {
    file.close();
  }
  const dump = run('h5dump', ['-H', '-d', '/dataset/waveforms', path]).stdout;
  assert.match(dump, /H5T_STD_U16LE "waveform_id";[\s\S]*H5T_VLEN \{ H5T_STD_U32LE\} "data";/);
  assert.match(dump, /SIMPLE \{ \( 3 \) \/ \( H5S_UNLIMITED \) \}/);
});

test('ismrmrd-hdf5 files reconstruct with ismrmrd_recon_cartesian_2d', (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan', 'ismrmrd_recon_cartesian_2d')) return;
  const src = phantom('sl.h5', ['-C', '-r', '2']);
  const written = join(dir, 'recon_written.h5');
  const original = join(dir, 'recon_original.h5');
  copyDataset(src, written);
  copyFileSync(src, original);
  const pixels: Float32Array[] = [];
  for (const path of [written, original]) {
    const r = run('ismrmrd_recon_cartesian_2d', [path]);
    assert.equal(r.status, 0, `recon of ${path}: ${r.stdout}${r.stderr}`);
    const file = IsmrmrdFile.open(path, 'dataset', { readOnly: true });
    try {
      assert.ok(file.imageSeriesNames().includes('cpp'));
      const images = file.readImages('cpp');
      assert.equal(images.length, 1);
      const im = images[0]!;
      assert.equal(im.head.data_type, DataType.FLOAT);
      assert.deepEqual(im.head.matrix_size, [256, 256, 1]);
      assert.equal(im.meta.size, 0);
      assert.ok(im.data instanceof Float32Array && im.data.length === 256 * 256);
      assert.ok(im.data.every(Number.isFinite) && im.data.some((v) => v > 0));
      pixels.push(im.data);
    } finally {
      file.close();
    }
  }
  assert.deepEqual(pixels[0], pixels[1], 'the copy reconstructs to the same image as the original');
});

test('ismrmrd-hdf5 reports errors as exceptions naming the file and group', (t) => {
  if (!need(t)) return;
  const missing = join(dir, 'missing.h5');
  assert.throws(() => IsmrmrdFile.open(missing), /Cannot open ISMRMRD dataset .*missing\.h5 group \/dataset: no such file/);
  assert.equal(existsSync(missing), false);

  const text = join(dir, 'not-hdf5.h5');
  writeFileSync(text, 'plain text, not HDF5\n');
  assert.throws(() => IsmrmrdFile.open(text, 'dataset', { create: true }), /Cannot open ISMRMRD dataset .*not-hdf5\.h5 group \/dataset: .*signature/);
  assert.equal(readFileSync(text, 'utf8'), 'plain text, not HDF5\n', 'create never truncates an existing file');

  const path = join(dir, 'errors.h5');
  const file = IsmrmrdFile.open(path, 'dataset', { create: true });
  assert.equal(file.readHeader(), undefined);
  assert.equal(file.acquisitionCount(), 0);
  assert.deepEqual(file.imageSeriesNames(), []);
  assert.throws(() => file.readAcquisition(0), /Cannot read acquisitions 0\.\.1 from .*errors\.h5 group \/dataset: \/dataset\/data does not exist/);
  assert.throws(() => file.readImages('image_0', 0, 1), /Cannot read images 0\.\.1 of image_0/);
  const xml = '<?xml version="1.0"?>\n<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD"></ismrmrdHeader>\n';
  file.writeHeader(xml);
  file.writeHeader(xml);
  assert.equal(file.readHeader(), xml);

  const head = { ...decodeAcquisitionHeader(new Uint8Array(340)), number_of_samples: 4, active_channels: 2, available_channels: 2 };
  file.appendAcquisition({ kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(16).fill(1) });
  assert.throws(
    () => file.appendAcquisition({ kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(15) }),
    /data length 15 does not match 4 samples x 2 channels x 2 floats/,
  );
  assert.throws(
    () => file.appendAcquisition({ kind: 'acquisition', head, traj: new Float32Array(3), data: new Float32Array(16) }),
    /traj length 3 does not match 4 samples x 0 dimensions/,
  );
  assert.equal(file.acquisitionCount(), 1);
  assert.throws(() => file.readAcquisition(1), (err: Error & { code?: string }) => err.code === 'ERR_OUT_OF_RANGE' && /holds 1/.test(err.message));
  assert.throws(() => file.readAcquisitions(-1, 1), RangeError);
  file.close();
  file.close();
  assert.throws(() => file.acquisitionCount(), /it is closed/);

  const ro = IsmrmrdFile.open(path, '/dataset/', { readOnly: true });
  try {
    assert.equal(ro.acquisitionCount(), 1);
    assert.throws(() => ro.writeHeader(xml), /Cannot write the XML header of .*errors\.h5 group \/dataset: the file is open read-only/);
  } finally {
    ro.close();
  }
  assert.throws(() => IsmrmrdFile.open(path, 'other'), /group \/other: no such group/);
  assert.ok(statSync(path).size > 0);
  assert.throws(() => normalizeGroup('/'), RangeError);
  assert.equal(normalizeGroup('dataset'), '/dataset');
});
