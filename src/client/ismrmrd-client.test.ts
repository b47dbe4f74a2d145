import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { hdf5Available, hdf5UnavailableReason, IsmrmrdFile } from '../formats/ismrmrd-hdf5.js';
import { emptyAcquisitionHeader, emptyWaveformHeader } from '../ismrmrd/types.js';
import { GENERATOR_HEADER } from '../ismrmrd/xml-header.fixtures.js';
import { FrameDecoder, encodeClose } from '../protocol/index.js';
import { runClient, type ClientOptions } from './ismrmrd-client.js';

/** What a recording server saw: each frame as `a<scan_counter>` or `w<waveform_id>`, in order. */
interface Recording {
  order: string[];
  /** Floats of each acquisition's data, by scan counter, to check the payloads arrived whole. */
  sums: Map<number, number>;
}

/** A server that records the stream and answers CLOSE with CLOSE. */
async function recordingServer(): Promise<{ port: number; recording: Promise<Recording>; close: () => void }> {
  let done: (r: Recording) => void = () => undefined;
  const recording = new Promise<Recording>((resolve) => {
    done = resolve;
  });
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const decoder = new FrameDecoder();
    const seen: Recording = { order: [], sums: new Map() };
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.kind === 'acquisition') {
          seen.order.push(`a${frame.acquisition.head.scan_counter}`);
          seen.sums.set(frame.acquisition.head.scan_counter, frame.acquisition.data.reduce((s, v) => s + v, 0));
        } else if (frame.kind === 'waveform') {
          seen.order.push(`w${frame.waveform.head.waveform_id}`);
        } else if (frame.kind === 'close') {
          for (const c of encodeClose()) socket.write(c);
          socket.end();
          done(seen);
        }
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    recording,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('gantry client sends every acquisition of a multi-block file in order, each waveform before the first later acquisition', { timeout: 60_000 }, async (t) => {
  if (!hdf5Available()) {
    t.skip(`ISMRMRD HDF5 addon not installed: ${hdf5UnavailableReason()}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gantry-client-'));
  const server = await recordingServer();
  try {
    // 2500 rows: more than one block of acquisitionBlocks (at most 1024 rows each)
    const acquisitions = 2500;
    const file = IsmrmrdFile.open(join(dir, 'in.h5'), '/dataset', { create: true });
    file.writeHeader(GENERATOR_HEADER);
    for (let i = 0; i < acquisitions; i++) {
      const head = emptyAcquisitionHeader();
      head.number_of_samples = 4;
      head.active_channels = 2;
      head.available_channels = 2;
      head.scan_counter = i;
      head.acquisition_time_stamp = 10 * i;
      file.appendAcquisition({ kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(16).fill(i) });
    }
    // waveforms at times 5, 1005, …: each goes just before the acquisition after it; the last ones after all acquisitions
    const waveformTimes = [5, 1005, 9995, 10_005, 24_995, 30_000, 40_000];
    waveformTimes.forEach((time, id) => {
      const head = emptyWaveformHeader();
      head.waveform_id = id;
      head.time_stamp = time;
      head.channels = 1;
      head.number_of_samples = 3;
      file.appendWaveform({ kind: 'waveform', head, data: new Uint32Array([id, id, id]) });
    });
    file.close();

    const errors: string[] = [];
    const options: ClientOptions = {
      host: '127.0.0.1', port: server.port, filename: join(dir, 'in.h5'), inGroup: '/dataset', outFile: join(dir, 'out.h5'),
      outGroup: 'out', config: 'default.xml', query: false, timeoutMs: 5_000, verbose: false,
      stdout: () => undefined, stderr: (text) => errors.push(text),
    };
    const result = await runClient(options);
    const seen = await server.recording;
    assert.equal(result.acquisitionsSent, acquisitions);
    assert.equal(result.closedByServer, true);
    assert.deepEqual(errors, []);

    const expected: string[] = [];
    let w = 0;
    for (let i = 0; i < acquisitions; i++) {
      while (w < waveformTimes.length && (waveformTimes[w] as number) < 10 * i) expected.push(`w${w++}`);
      expected.push(`a${i}`);
    }
    while (w < waveformTimes.length) expected.push(`w${w++}`);
    assert.deepEqual(seen.order, expected);
    for (let i = 0; i < acquisitions; i++) assert.equal(seen.sums.get(i), 16 * i, `acquisition ${i}`);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
