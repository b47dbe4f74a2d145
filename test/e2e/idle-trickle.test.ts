/**
 * The idle timeout counts quiet time, not session time: a client that sends
 * a little at a time, each gap shorter than `--idle-timeout` but the whole
 * session several timeouts long, is served to the end; one that goes quiet
 * is told so within the timeout (plus slack).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import test from 'node:test';
import { PASS_THROUGH_CONFIG } from '../../bench/ingest.js';
import { emptyAcquisitionHeader, type Acquisition } from '../../src/ismrmrd/types.js';
import { GENERATOR_HEADER } from '../../src/ismrmrd/xml-header.fixtures.js';
import { FrameDecoder, encodeAcquisition, encodeClose, encodeConfigScript, encodeHeader, type Frame } from '../../src/protocol/index.js';
import { startGantryServer } from '../helpers/gantry-process.js';

const IDLE_MS = 600;

function acquisition(index: number): Acquisition {
  const head = emptyAcquisitionHeader();
  head.number_of_samples = 8;
  head.active_channels = 1;
  head.available_channels = 1;
  head.scan_counter = index;
  return { kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(16) };
}

/** Connects, sends `script` (chunks after waits), and collects the server's frames until it hangs up. */
async function session(port: number, script: (send: (chunks: Uint8Array[]) => void) => Promise<void>): Promise<{ frames: Frame[]; ms: number }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const start = performance.now();
  await script((chunks) => {
    for (const chunk of chunks) socket.write(chunk);
  });
  await ended;
  return { frames, ms: performance.now() - start };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('the idle timeout spares a slow trickle and stops a silent client', { timeout: 60_000 }, async () => {
  const server = await startGantryServer(['--idle-timeout', String(IDLE_MS)]);
  try {
    const opening = [...encodeConfigScript(PASS_THROUGH_CONFIG), ...encodeHeader(GENERATOR_HEADER)];
    const trickle = await session(server.port, async (send) => {
      send(opening);
      for (let i = 0; i < 12; i++) {
        await sleep(IDLE_MS / 3);
        send(encodeAcquisition(acquisition(i)));
      }
      send(encodeClose());
    });
    assert.ok(trickle.ms > 3 * IDLE_MS, `the session lasted ${trickle.ms.toFixed(0)} ms, several idle timeouts`);
    assert.deepEqual(trickle.frames.filter((f) => f.kind === 'text'), [], 'no error for a slow but steady client');
    assert.equal(trickle.frames.at(-1)?.kind, 'close');

    const silent = await session(server.port, async (send) => {
      send(opening);
      send(encodeAcquisition(acquisition(0)));
    });
    const texts = silent.frames.flatMap((f) => (f.kind === 'text' ? [f.text] : []));
    assert.match(texts.join('\n'), new RegExp(`\\] ERROR: Connection idle for more than ${IDLE_MS} ms`));
    assert.ok(silent.ms >= IDLE_MS && silent.ms < IDLE_MS + 5000, `stopped after ${silent.ms.toFixed(0)} ms`);
    assert.equal(silent.frames.at(-1)?.kind, 'close');
  } finally {
    await server.stop();
  }
});
