import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createLogger, silentLogger } from './logger.js';

const pinoLoaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((f) => /[\\/]node_modules[\\/]pino[\\/]pino\.js$/.test(f));

// First in this file: pino must not be loaded by another test yet.
test('pino loads only when a record at an enabled level is written (start-up time)', () => {
  const lines: string[] = [];
  const log = createLogger('warn', { component: 'x' }, (line) => lines.push(line));
  log.info('below the level');
  log.child({ session: 1 }).debug('below the level');
  silentLogger.error('dropped');
  assert.equal(pinoLoaded(), false);
  log.child({ session: 1 }).warn('written');
  assert.equal(pinoLoaded(), true);
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0] as string), { ...JSON.parse(lines[0] as string), level: 'warn', component: 'x', session: 1, msg: 'written' });
});

test('logger writes one JSON record per line: level, time, msg first, then fields', () => {
  const lines: string[] = [];
  const log = createLogger('info', { component: 'x' }, (line) => lines.push(line));
  log.info('gantry listening', { host: '127.0.0.1', port: 9002, big: 3n });
  log.debug('hidden');
  log.child({ session: 4 }).warn('session error', { error: 'e' });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('\n')));
  const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
  assert.equal(first['level'], 'info');
  assert.equal(first['component'], 'x');
  assert.equal(first['port'], 9002);
  assert.match(String(first['time']), /^\d{4}-\d{2}-\d{2}T/);
  assert.match(lines[0] as string, /"msg":"gantry listening"[^\n]*"port":9002/);
  assert.deepEqual(Object.keys(JSON.parse(lines[1] as string) as object), ['level', 'time', 'component', 'session', 'msg', 'error']);
});

test('logger redacts well-known patient fields and honours silent', () => {
  const lines: string[] = [];
  createLogger('debug', {}, (l) => lines.push(l)).info('oops', { patientName: 'Doe^Jane', patientID: 'P1' });
  assert.doesNotMatch(lines.join(''), /Doe|P1/);
  const none: string[] = [];
  const silent = createLogger('silent', {}, (l) => none.push(l));
  silent.error('x');
  silent.child({ a: 1 }).error('y');
  assert.deepEqual(none, []);
});

test('logger level drops the records below it (--log-level)', () => {
  const lines: string[] = [];
  const warn = createLogger('warn', {}, (l) => lines.push(l));
  warn.debug('d');
  warn.info('i');
  warn.warn('w');
  warn.child({ session: 1 }).error('e');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { level: string; msg: string })).map((r) => [r.level, r.msg]), [['warn', 'w'], ['error', 'e']]);
  const debug: string[] = [];
  createLogger('debug', {}, (l) => debug.push(l)).debug('d');
  assert.equal(debug.length, 1);
});
