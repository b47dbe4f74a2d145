/**
 * Bad input to the generic Cartesian recon over real TCP (`gantry serve` as a
 * child process), with scans from `generatePhantom` (64², 8 coils, noise
 * scans) sent with the shipped Generic_Cartesian_Grappa*.xml configs:
 *
 * - acceleration (R = 2, embedded) without any calibration readouts;
 * - 4 ACS lines, fewer than the 7 the default 4-line kernel needs at R = 2;
 * - mismatched channel counts: separate ACS with 8 channels but imaging
 *   readouts with 6, and one imaging readout with 6 channels among 8;
 * - an empty buffer: imaging readouts without samples.
 *
 * Each session must get a clear `[Connection Main Thread/<stream>/<gadget>]
 * ERROR: …` text naming the failing gadget of the config, then CLOSE; the
 * real client prints it and exits with 2; and the server keeps serving: a
 * good scan sent afterwards is reconstructed.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GadgetronConnection } from '../../src/client/connection.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { AcqFlag, DataType, isFlagSet, type Acquisition } from '../../src/ismrmrd/types.js';
import { generatePhantom, type PhantomOptions } from '../../src/phantom/index.js';
import { encodeAcquisition, encodeClose, encodeConfigFile, encodeHeader, type Frame } from '../../src/protocol/index.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';

const skip = missing([]);

interface Scan {
  xml: string;
  acqs: Acquisition[];
}

async function makeScan(dir: string, name: string, options: Omit<PhantomOptions, 'output'>): Promise<Scan> {
  const file = join(dir, `${name}.h5`);
  const summary = await generatePhantom({ output: file, overwrite: true, matrix: 64, coils: 8, noiseScans: 8, seed: 3, ...options });
  const f = IsmrmrdFile.open(file);
  try {
    return { xml: summary.xml, acqs: f.readAcquisitions(0, f.acquisitionCount()) };
  } finally {
    f.close();
  }
}

function writeScan(file: string, scan: Scan): void {
  const f = IsmrmrdFile.open(file, '/dataset', { create: true });
  try {
    f.writeHeader(scan.xml);
    for (const a of scan.acqs) f.appendAcquisition(a);
  } finally {
    f.close();
  }
}

const isNoise = (a: Acquisition): boolean => isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT);
const isCalibrationOnly = (a: Acquisition): boolean => isFlagSet(a.head.flags, AcqFlag.IS_PARALLEL_CALIBRATION);
const bit = (flag: number): bigint => 1n << BigInt(flag - 1);

/** The readout with only its first `channels` channels. */
function withChannels(a: Acquisition, channels: number): Acquisition {
  return { ...a, head: { ...a.head, active_channels: channels }, data: a.data.slice(0, 2 * a.head.number_of_samples * channels) };
}

/** Sends a whole session (config name, header, readouts, CLOSE) and collects the server's texts until its CLOSE. */
async function session(port: number, config: string, scan: Scan): Promise<{ texts: string[]; closed: boolean; images: number }> {
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port, timeoutMs: 5000 });
  const texts: string[] = [];
  let closed = false;
  let images = 0;
  const timer = setTimeout(() => connection.socket.destroy(), 60_000);
  try {
    const reading = (async () => {
      for await (const frame of connection.frames() as AsyncIterable<Frame>) {
        if (frame.kind === 'text') texts.push(frame.text);
        if (frame.kind === 'image') images++;
        if (frame.kind === 'close') {
          closed = true;
          break;
        }
      }
    })();
    const sending = (async () => {
      await connection.send(encodeConfigFile(config));
      await connection.send(encodeHeader(scan.xml));
      for (const a of scan.acqs) await connection.send(encodeAcquisition(a));
      await connection.send(encodeClose());
    })().catch(() => undefined); // the server may stop reading once it has failed
    await reading;
    await sending;
  } finally {
    clearTimeout(timer);
    connection.close();
  }
  return { texts, closed, images };
}

test('generic recon bad input over TCP: a clear gadget error, CLOSE, and the server keeps serving', { skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-generic-bad-'));
  let server: ServerProcess | undefined;
  try {
    server = await startGantryServer();
    const port = server.port;

    const embedded = await makeScan(dir, 'embedded', { accel: 2, acs: 24, acsMode: 'embedded' });
    const noAcs: Scan = {
      xml: embedded.xml,
      acqs: embedded.acqs
        .filter((a) => !isCalibrationOnly(a))
        .map((a) => ({ ...a, head: { ...a.head, flags: a.head.flags & ~bit(AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING) } })),
    };
    const fewAcs = await makeScan(dir, 'few', { accel: 2, acs: 4, acsMode: 'embedded' });
    const separate = await makeScan(dir, 'separate', { accel: 2, acs: 24, acsMode: 'separate' });
    const fewerImagingChannels: Scan = { xml: separate.xml, acqs: separate.acqs.map((a) => (isNoise(a) || isCalibrationOnly(a) ? a : withChannels(a, 6))) };
    const imaging = embedded.acqs.filter((a) => !isNoise(a) && !isCalibrationOnly(a));
    const odd = imaging[imaging.length >> 1] as Acquisition;
    const oneReadoutFewer: Scan = { xml: embedded.xml, acqs: embedded.acqs.map((a) => (a === odd ? withChannels(a, 6) : a)) };
    const noSamples: Scan = {
      xml: embedded.xml,
      acqs: embedded.acqs.map((a) => (isNoise(a) ? a : { ...a, head: { ...a.head, number_of_samples: 0 }, data: new Float32Array(0) })),
    };

    const cases: { name: string; config: string; scan: Scan; expect: RegExp }[] = [
      {
        name: 'acceleration without calibration data',
        config: 'Generic_Cartesian_Grappa.xml',
        scan: noAcs,
        expect: /^\[Connection Main Thread\/[^\]]*\/Recon\] ERROR: Cannot calibrate GRAPPA for encoding space 0: data accelerated by 2×1 need fully sampled calibration \(ACS\) data, but \d+ of \d+ reference lines are empty/,
      },
      {
        name: 'too few ACS lines for the kernel',
        config: 'Generic_Cartesian_Grappa.xml',
        scan: fewAcs,
        expect: /^\[Connection Main Thread\/[^\]]*\/Recon\] ERROR: Cannot calibrate GRAPPA: 4 ACS lines are fewer than the kernel needs \(7 lines for grappa_kSize_E1 = 4 at acceleration 2\)/,
      },
      {
        name: 'imaging readouts with fewer channels than the calibration readouts',
        config: 'Generic_Cartesian_Grappa_SNR.xml',
        scan: fewerImagingChannels,
        expect: /^\[Connection Main Thread\/[^\]]*\/Recon\] ERROR: Cannot apply GRAPPA to encoding space 0: the data have 6 channels, the calibration \(reference\) data 8/,
      },
      {
        name: 'one imaging readout with fewer channels',
        config: 'Generic_Cartesian_Grappa.xml',
        scan: oneReadoutFewer,
        expect: /^\[Connection Main Thread\/[^\]]*\/BucketToBuffer\] ERROR: Cannot buffer readout \d+: 6 channels where the buffer has 8/,
      },
      {
        name: 'an empty buffer (readouts without samples)',
        config: 'Generic_Cartesian_Grappa.xml',
        scan: noSamples,
        expect: /^\[Connection Main Thread\/[^\]]*\/PrepRef\] ERROR: Cannot prepare reference data of encoding space 0: the data buffer is empty/,
      },
    ];

    for (const c of cases) {
      await t.test(c.name, async () => {
        const started = performance.now();
        const { texts, closed, images } = await session(port, c.config, c.scan);
        t.diagnostic(`${c.name}: ${JSON.stringify(texts.filter((x) => / ERROR: /.test(x)))} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
        assert.ok(closed, `the server sent CLOSE (texts: ${JSON.stringify(texts)})`);
        assert.ok(texts.some((x) => c.expect.test(x)), `expected ${c.expect} in ${JSON.stringify(texts)}`);
        assert.equal(texts.filter((x) => / ERROR: /.test(x)).length, 1, 'one error, from the failing gadget');
        assert.ok(texts.every((x) => x.startsWith('[Connection Main Thread')), 'every text carries its location');
        assert.equal(images, 0, 'no images from a failed recon');
        assert.equal(server?.child.exitCode, null, 'the server is still running');
      });
    }

    await t.test('the client prints the error and exits with 2', async () => {
      const input = join(dir, 'no_acs.h5');
      writeScan(input, noAcs);
      const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String(port), '-f', input, '-o', join(dir, 'no_acs_out.h5'), '-c', 'Generic_Cartesian_Grappa.xml']);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stdout, /\[Connection Main Thread\/[^\]]*\/Recon\] ERROR: Cannot calibrate GRAPPA for encoding space 0/);
      assert.match(run.stderr, /the server reported 1 error/);
    });

    await t.test('a good session afterwards is reconstructed', async () => {
      const input = join(dir, 'good.h5');
      writeScan(input, embedded);
      const out = join(dir, 'good_out.h5');
      const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String(port), '-f', input, '-o', out, '-G', 'good', '-c', 'Generic_Cartesian_Grappa.xml']);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.doesNotMatch(run.stdout, /ERROR/);
      const f = IsmrmrdFile.open(out, 'good');
      try {
        const images = f.imageSeriesNames().flatMap((name) => f.readImages(name));
        assert.equal(images.length, 1, 'one image');
        assert.equal(images[0]?.head.data_type, DataType.USHORT);
        assert.deepEqual(images[0]?.head.matrix_size, [64, 64, 1]);
      } finally {
        f.close();
      }
      assert.equal(server?.child.exitCode, null, 'the server is still running');
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
