import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAgainst, meetsTarget, readRecorded, writeRecorded, type Figure, type RecordedRun } from './figures.js';

const fft: Figure = { id: 'fft', group: 'fft', label: 'FFT', unit: 'µs', gantry: 110, reference: 100, referenceName: 'FFTW', ratio: 1.1, target: { max: 1.2 } };
const ingest: Figure = { id: 'ingest', group: 'ingest', label: 'ingest', unit: 'GB/s', gantry: 1.2, target: { min: 1 } };
const recorded: RecordedRun = { machine: 'm', command: 'npm run bench', date: '2026-01-01T00:00:00Z', figures: [fft, ingest] };

test('bench check passes within 25 % and fails beyond it, on ratios and throughputs', () => {
  assert.deepEqual(checkAgainst(recorded, [{ ...fft, ratio: 1.3 }, { ...ingest, gantry: 1.0 }]), []);
  const failures = checkAgainst(recorded, [{ ...fft, ratio: 1.4 }, { ...ingest, gantry: 0.9 }]);
  assert.equal(failures.length, 2);
  assert.match(failures[0] as string, /FFT: 1\.40× the reference, recorded 1\.10×/);
  // A slower machine with the same ratio is not a regression.
  assert.deepEqual(checkAgainst(recorded, [{ ...fft, gantry: 500, reference: 455, ratio: 1.1 }]), []);
  // Figures without a recorded counterpart are not checked.
  assert.deepEqual(checkAgainst(recorded, [{ ...fft, id: 'new', ratio: 9 }]), []);
});

test('bench targets: ratios at most max, throughputs at least min', () => {
  assert.equal(meetsTarget(fft), true);
  assert.equal(meetsTarget({ ...fft, ratio: 1.25 }), false);
  assert.equal(meetsTarget({ ...ingest, gantry: 0.5 }), false);
  assert.equal(meetsTarget({ ...fft, target: undefined }), undefined);
});

test('bench figures round-trip through the recorded block of a Markdown file, table included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-figures-'));
  try {
    const doc = join(dir, 'performance.md');
    writeFileSync(doc, '# Performance\n\n<!-- bench-table:begin -->\nold\n<!-- bench-table:end -->\n\ntext\n');
    assert.equal(readRecorded(doc), undefined);
    writeRecorded(doc, recorded);
    writeRecorded(doc, recorded);
    const text = readFileSync(doc, 'utf8');
    assert.equal(text.split('bench-figures:begin').length, 2);
    assert.match(text, /\| FFT \| 110\.0 µs \| 100\.0 µs \(FFTW\) \| 1\.10× \| ≤ 1\.2× \| yes \|/);
    assert.doesNotMatch(text, /\nold\n/);
    assert.deepEqual(readRecorded(doc)?.figures.map((f) => f.id), ['fft', 'ingest']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
