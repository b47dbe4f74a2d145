/**
 * Bad input over real TCP: each bad session gets a clear `[location] ERROR:`
 * text and CLOSE, while a good session running at the same time finishes
 * with correct images. The server process stays up throughout.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GadgetronConnection } from '../../src/client/connection.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { encodeClose, encodeConfigFile, encodeConfigScript, encodeHeader, type Frame } from '../../src/protocol/index.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';

const HEADER = `<?xml version="1.0"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>
  <encoding>
    <encodedSpace><matrixSize><x>64</x><y>32</y><z>1</z></matrixSize><fieldOfView_mm><x>300</x><y>150</y><z>5</z></fieldOfView_mm></encodedSpace>
    <reconSpace><matrixSize><x>32</x><y>32</y><z>1</z></matrixSize><fieldOfView_mm><x>150</x><y>150</y><z>5</z></fieldOfView_mm></reconSpace>
    <encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>31</maximum><center>16</center></kspace_encoding_step_1></encodingLimits>
    <trajectory>cartesian</trajectory>
  </encoding>
</ismrmrdHeader>`;

function bytes(...parts: (number[] | Uint8Array | Uint8Array[])[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (Array.isArray(p) && (p.length === 0 || typeof p[0] === 'number')) out.push(Uint8Array.from(p as number[]));
    else if (Array.isArray(p)) out.push(...(p as Uint8Array[]));
    else out.push(p);
  }
  return out;
}

/** Sends `chunks` (then half-closes if asked) and collects the server's frames until it closes. */
async function exchange(port: number, chunks: Uint8Array[], halfClose = false): Promise<{ texts: string[]; closed: boolean }> {
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port, timeoutMs: 5000 });
  const texts: string[] = [];
  let closed = false;
  const timer = setTimeout(() => connection.socket.destroy(), 10_000);
  try {
    for (const c of chunks) connection.socket.write(c);
    if (halfClose) connection.socket.end();
    for await (const frame of connection.frames() as AsyncIterable<Frame>) {
      if (frame.kind === 'text') texts.push(frame.text);
      if (frame.kind === 'close') {
        closed = true;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    connection.close();
  }
  return { texts, closed };
}

function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}

const cases: { name: string; chunks: () => Uint8Array[]; halfClose?: boolean; expect: RegExp }[] = [
  { name: 'unknown message id', chunks: () => bytes(u16(4242), [1, 2, 3]), expect: /ERROR: .*4242/ },
  { name: 'a message cut short', chunks: () => bytes(u16(1), new Uint8Array(100)), halfClose: true, expect: /ERROR: .*(closed|truncat)/i },
  {
    name: 'a length field beyond the limit (4 GiB config)',
    chunks: () => bytes(u16(2), [0xff, 0xff, 0xff, 0xff], [60, 120]),
    expect: /ERROR: .*(limit|too large)/i,
  },
  { name: 'malformed config XML', chunks: () => bytes(encodeConfigScript('<configuration>\n<version>2</version>\n<stream>\n</configuration>')), expect: /ERROR: .*line \d+/ },
  {
    name: 'an unknown gadget class',
    chunks: () => bytes(encodeConfigScript('<configuration><version>2</version><readers/><writers/>\n<stream>\n<gadget><dll>x</dll><classname>NoSuchGadget</classname></gadget></stream></configuration>')),
    expect: /ERROR: .*NoSuchGadget.*line 3/,
  },
  { name: 'an unknown config name', chunks: () => bytes(encodeConfigFile('no_such_config.xml')), expect: /ERROR: .*no_such_config\.xml/ },
  { name: 'a config name with a path', chunks: () => bytes(encodeConfigFile('../../etc/passwd')), expect: /ERROR: .*may not contain paths/ },
  { name: 'a header before the config', chunks: () => bytes(encodeHeader(HEADER)), expect: /ERROR: Received ISMRMRD header before config file\./ },
  {
    name: 'a second header',
    chunks: () => bytes(encodeConfigFile('default.xml'), encodeHeader(HEADER), encodeHeader(HEADER), encodeClose()),
    expect: /ERROR: Received second ISMRMRD header\. Only one allowed\./,
  },
  {
    name: 'a second config',
    chunks: () => bytes(encodeConfigFile('default.xml'), encodeConfigFile('default.xml')),
    expect: /ERROR: Received second config file\. Only one allowed\./,
  },
  { name: 'a malformed ISMRMRD header', chunks: () => bytes(encodeConfigFile('default.xml'), encodeHeader('<ismrmrdHeader><encoding>')), expect: /ERROR: / },
];

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan']);

test('bad input gets a clear error and close while a good session completes', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-bad-'));
  let server: ServerProcess | undefined;
  try {
    server = await startGantryServer();
    const port = server.port;
    const input = join(dir, 'sl.h5');
    execFileSync('ismrmrd_generate_cartesian_shepp_logan', ['-o', input, '-m', '128', '-r', '4', '-C'], { stdio: 'ignore' });
    const out = join(dir, 'out.h5');
    const good = runGantry(['client', '-a', '127.0.0.1', '-p', String(port), '-f', input, '-o', out, '-G', 'good']);
    for (const c of cases) {
      await t.test(c.name, async () => {
        const { texts, closed } = await exchange(port, c.chunks(), c.halfClose ?? false);
        assert.ok(closed, `server sent CLOSE (texts: ${JSON.stringify(texts)})`);
        assert.ok(texts.some((x) => c.expect.test(x)), `expected ${c.expect} in ${JSON.stringify(texts)}`);
        assert.ok(texts.every((x) => x.startsWith('[')), 'errors carry a [location] prefix');
      });
    }
    const result = await good;
    assert.equal(result.code, 0, result.stderr);
    const f = IsmrmrdFile.open(out, 'good');
    const images = f.readImages('image_0');
    f.close();
    assert.equal(images.length, 4, 'the good session got all its images');
    assert.deepEqual(images.map((i) => i.head.repetition), [0, 1, 2, 3]);
    assert.equal(server.child.exitCode, null, 'the server is still running');
    const info = await runGantry(['client', '-a', '127.0.0.1', '-p', String(port), '-Q', 'gadgetron::info']);
    assert.match(info.stdout, /Version\s*:\s+\S+/);
    assert.ok(readFileSync(out).byteLength > 0);
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
