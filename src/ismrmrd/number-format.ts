/**
 * C `printf`-style number formatting (`%.Nf`, `%.Ng`) with glibc's exact
 * round-half-to-even on the binary value, as ISMRMRD's C++ serializers print
 * numbers (`sprintf("%f")` for the XML header, `stringstream <<` = `%g` for
 * image meta attributes). JavaScript's `toFixed`/`toPrecision` round exact ties
 * away from zero instead (0.0078125 → "0.007813", glibc "0.007812").
 */

/** The exact decimal value of a finite, non-negative double: `digits × 10^-scale`. */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (biased === 0) {
    exponent = -1074;
  } else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  if (mantissa === 0n) return { digits: 0n, scale: 0 };
  if (exponent >= 0) return { digits: mantissa << BigInt(exponent), scale: 0 };
  // m / 2^k = m·5^k / 10^k
  return { digits: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
}

/** `value / 10^drop`, rounded half to even. */
function roundDivPow10(value: bigint, drop: number): bigint {
  if (drop <= 0) return value * 10n ** BigInt(-drop);
  const divisor = 10n ** BigInt(drop);
  const quotient = value / divisor;
  const remainder = value - quotient * divisor;
  const twice = remainder * 2n;
  if (twice > divisor || (twice === divisor && (quotient & 1n) === 1n)) return quotient + 1n;
  return quotient;
}

function special(x: number): string | undefined {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return undefined;
}

function isNegative(x: number): boolean {
  return x < 0 || Object.is(x, -0);
}

/** `printf("%.<decimals>f", x)` as glibc prints it (`-0.000000` for tiny negatives, `inf`, `nan`). */
export function formatFixed(x: number, decimals = 6): string {
  if (!Number.isInteger(decimals) || decimals < 0) throw new RangeError(`Cannot format with ${decimals} decimals`);
  const s = special(x);
  if (s !== undefined) return s;
  const sign = isNegative(x) ? '-' : '';
  const { digits, scale } = exactDecimal(Math.abs(x));
  const scaled = roundDivPow10(digits, scale - decimals).toString().padStart(decimals + 1, '0');
  if (decimals === 0) return sign + scaled;
  return `${sign}${scaled.slice(0, scaled.length - decimals)}.${scaled.slice(scaled.length - decimals)}`;
}

/**
 * `printf("%.<precision>g", x)` as glibc prints it: `precision` significant
 * digits, exponent form when the exponent is < -4 or ≥ precision, trailing
 * zeros removed (`128.5`, `0.001`, `1e+06`, `3.14159`, `-2.5e-07`).
 */
export function formatGeneral(x: number, precision = 6): string {
  if (!Number.isInteger(precision) || precision < 0) throw new RangeError(`Cannot format with precision ${precision}`);
  const p = precision === 0 ? 1 : precision;
  const s = special(x);
  if (s !== undefined) return s;
  const sign = isNegative(x) ? '-' : '';
  const { digits, scale } = exactDecimal(Math.abs(x));
  if (digits === 0n) return `${sign}0`;
  const length = digits.toString().length;
  let exponent = length - 1 - scale;
  let rounded = roundDivPow10(digits, length - p);
  if (rounded.toString().length > p) {
    rounded /= 10n;
    exponent += 1;
  }
  const mantissa = rounded.toString();
  const trim = (t: string): string => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  if (exponent >= -4 && exponent < p) {
    let fixed: string;
    if (exponent >= 0) {
      fixed = `${mantissa.slice(0, exponent + 1)}.${mantissa.slice(exponent + 1)}`;
    } else {
      fixed = `0.${'0'.repeat(-exponent - 1)}${mantissa}`;
    }
    return sign + trim(fixed);
  }
  const body = trim(mantissa.length > 1 ? `${mantissa[0]}.${mantissa.slice(1)}` : mantissa);
  const exp = Math.abs(exponent).toString().padStart(2, '0');
  return `${sign}${body}e${exponent < 0 ? '-' : '+'}${exp}`;
}
