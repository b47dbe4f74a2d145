/**
 * A minimal column-major N-dimensional array (first index fastest), the
 * currency between gadgets. Complex arrays store interleaved re/im float32,
 * so `data.length === 2 * product(dims)`.
 */

/** Complex float32 array, interleaved re/im, column-major. */
export interface ComplexArray {
  data: Float32Array;
  dims: number[];
}

/** Real array, column-major. */
export interface RealArray<T extends Float32Array | Float64Array | Uint16Array = Float32Array> {
  data: T;
  dims: number[];
}

/** Number of elements described by `dims`. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A zero-filled complex array of the given dimensions. */
export function complexZeros(dims: readonly number[]): ComplexArray {
  return { data: new Float32Array(2 * elementCount(dims)), dims: [...dims] };
}

/** Column-major strides (in elements) for `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (const d of dims) {
    strides.push(s);
    s *= d;
  }
  return strides;
}
