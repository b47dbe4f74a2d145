/**
 * QUERY/RESPONSE over TCP: `gantry client -Q` prints what Gadgetron's test
 * harness parses (the seven fields of gadgetron::info) and the other keys.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { runGantry, startGantryServer } from '../helpers/gantry-process.js';

test('gantry client -Q answers the keys Gadgetron answers', { timeout: 60_000 }, async () => {
  const server = await startGantryServer();
  try {
    const port = String(server.port);
    const info = await runGantry(['client', '-a', '127.0.0.1', '-p', port, '-Q', 'gadgetron::info']);
    assert.equal(info.code, 0, info.stderr);
    for (const marker of ['Version', 'Git SHA1', 'System Memory size', 'Python Support', 'Julia Support', 'Matlab Support', 'CUDA Support']) {
      assert.match(info.stdout, new RegExp(`${marker}\\s*:\\s+(\\S.*)`), `gadgetron::info has ${marker}`);
    }
    const version = await runGantry(['client', '-a', '127.0.0.1', '-p', port, '-Q', 'gadgetron::version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const memory = await runGantry(['client', '-a', '127.0.0.1', '-p', port, '-Q', 'gadgetron::info::memory']);
    assert.match(memory.stdout, /^\d+\n$/);
    const unknown = await runGantry(['client', '-a', '127.0.0.1', '-p', port, '-Q', 'no::such::key']);
    assert.equal(unknown.stdout, 'Unknown query\n');
  } finally {
    await server.stop();
  }
});
