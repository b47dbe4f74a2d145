import test from 'node:test';
import assert from 'node:assert/strict';
import { parsePskFile } from './tls-files.js';

test('PSK files in stunnel format: hex keys are binary, others are text', () => {
  const entries = parsePskFile('# comment\n\nscanner-1:00112233445566778899aabbccddeeff\nscanner-2:a text key of 16+ chars\n');
  assert.equal(entries.length, 2);
  assert.equal(entries[0]?.identity, 'scanner-1');
  assert.deepEqual(entries[0]?.key, Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
  assert.equal(entries[1]?.key.toString(), 'a text key of 16+ chars');
});

test('bad PSK files are clear errors that never show a key', () => {
  assert.throws(() => parsePskFile('nocolon\n'), /line 1 is not IDENTITY:KEY/);
  assert.throws(() => parsePskFile('id:0011\n'), /line 1 is shorter than 16 bytes/);
  assert.throws(() => parsePskFile('a:0123456789abcdef0123456789abcdef\na:0123456789abcdef0123456789abcdef\n'), /appears twice/);
  assert.throws(() => parsePskFile('# only a comment\n'), /holds no IDENTITY:KEY line/);
  try {
    parsePskFile('id:secretvalue\n');
  } catch (err) {
    assert.doesNotMatch((err as Error).message, /secretvalue/);
  }
});
