import test from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addLimitOptions, formatByteSize, limitsFromFlags, parseByteSize, type LimitFlags } from './limit-options.js';
import { defaultProtocolLimits, defaultSessionLimits } from '../protocol/limits.js';

test('sizes parse with binary units and format back', () => {
  assert.equal(parseByteSize('1048576'), 1048576);
  assert.equal(parseByteSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseByteSize('4 GiB'), 4 * 1024 ** 3);
  assert.equal(parseByteSize('512k'), 512 * 1024);
  assert.equal(parseByteSize('0'), 0);
  assert.throws(() => parseByteSize('-1'), /not a size/);
  assert.throws(() => parseByteSize('12 parsecs'), /not a size/);
  assert.equal(formatByteSize(64 * 1024 * 1024), '64 MiB');
  assert.equal(formatByteSize(1000), '1000 bytes');
});

function parse(args: string[]): LimitFlags {
  const command = addLimitOptions(new Command('serve').exitOverride().configureOutput({ writeErr: () => undefined }));
  command.parse(args, { from: 'user' });
  return command.opts<LimitFlags>();
}

test('defaults are the library defaults; each flag sets its limit', () => {
  assert.deepEqual(limitsFromFlags(parse([])), { limits: defaultProtocolLimits, sessionLimits: defaultSessionLimits });
  const { limits, sessionLimits } = limitsFromFlags(parse([
    '--max-config-bytes', '1KiB', '--max-acquisition-bytes', '2MiB', '--max-message-bytes', '3MiB',
    '--session-max-bytes', '0', '--session-memory-budget', '1GiB', '--connect-timeout', '1500', '--session-timeout', '60000',
  ]));
  assert.equal(limits.maxConfigBytes, 1024);
  assert.equal(limits.maxAcquisitionBytes, 2 * 1024 * 1024);
  assert.equal(limits.maxMessageBytes, 3 * 1024 * 1024);
  assert.equal(limits.maxHeaderBytes, defaultProtocolLimits.maxHeaderBytes);
  assert.deepEqual(sessionLimits, { maxSessionBytes: 0, sessionMemoryBudget: 1024 ** 3, connectTimeoutMs: 1500, sessionTimeoutMs: 60000 });
});

test('bad values are refused with the flag named', () => {
  assert.throws(() => parse(['--connect-timeout', 'soon']), /connect-timeout must be a whole number of milliseconds/);
  assert.throws(() => parse(['--max-image-bytes', 'lots']), /not a size/);
});
