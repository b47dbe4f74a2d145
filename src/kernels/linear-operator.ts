/**
 * Linear operators on interleaved complex float32 arrays: an object with
 * `forward` and `adjoint`, shapes checked on every apply, and the adjoint
 * identity ⟨Ax, y⟩ = ⟨x, Aᴴy⟩ as the test every operator must pass
 * (the SigPy / BART convention).
 */

/** A linear map between two complex arrays of fixed shapes. */
export interface LinearOperator {
  /** What it is, for error messages ("GRAPPA k-space convolution"). */
  readonly name: string;
  /** Dimensions of x (column-major, complex elements). */
  readonly inShape: readonly number[];
  /** Dimensions of y = A·x. */
  readonly outShape: readonly number[];
  /** y ← A·x; returns y. */
  forward(x: Float32Array, y: Float32Array): Float32Array;
  /** x ← Aᴴ·y; returns x. */
  adjoint(y: Float32Array, x: Float32Array): Float32Array;
}

/** Number of complex elements of `shape`. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws a RangeError unless `data` holds exactly the complex elements of `shape`. */
export function checkOperand(op: { name: string }, role: string, data: Float32Array, shape: readonly number[]): void {
  const n = shapeSize(shape);
  if (data.length !== 2 * n) {
    throw new RangeError(`Cannot apply ${op.name}: ${role} has ${data.length / 2} complex elements where [${shape.join(', ')}] needs ${n}`);
  }
}

/** ⟨a, b⟩ = Σ conj(a)·b in float64, as [re, im]. */
export function dotc(a: Float32Array, b: Float32Array): [number, number] {
  if (a.length !== b.length) throw new RangeError(`Cannot take the inner product of arrays of lengths ${a.length} and ${b.length}`);
  let re = 0;
  let im = 0;
  for (let i = 0; i < a.length; i += 2) {
    const ar = a[i] as number;
    const ai = a[i + 1] as number;
    const br = b[i] as number;
    const bi = b[i + 1] as number;
    re += ar * br + ai * bi;
    im += ar * bi - ai * br;
  }
  return [re, im];
}

/** Euclidean norm of an interleaved complex array (float64 accumulation). */
export function complexNorm(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (a[i] as number);
  return Math.sqrt(s);
}

/**
 * Relative adjoint mismatch |⟨Ax, y⟩ − ⟨x, Aᴴy⟩| / (‖Ax‖·‖y‖ + ‖x‖·‖Aᴴy‖)
 * for the given x and y; float32 operators give ~1e-7.
 */
export function adjointMismatch(op: LinearOperator, x: Float32Array, y: Float32Array): number {
  const ax = op.forward(x, new Float32Array(2 * shapeSize(op.outShape)));
  const ahy = op.adjoint(y, new Float32Array(2 * shapeSize(op.inShape)));
  const [lr, li] = dotc(ax, y);
  const [rr, ri] = dotc(x, ahy);
  const scale = complexNorm(ax) * complexNorm(y) + complexNorm(x) * complexNorm(ahy);
  if (scale === 0) return 0;
  return Math.hypot(lr - rr, li - ri) / scale;
}
