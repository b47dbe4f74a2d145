/**
 * The modified (Toft) Shepp–Logan head phantom, point-sampled, as
 * `ismrmrd_generate_cartesian_shepp_logan` builds it, extended to 3D and to a
 * beating feature for cine data.
 *
 * 2D (the ISMRMRD definition). On an nx × ny grid with RO index x and E1
 * index y, the normalised coordinates are x_n = (x − ⌊nx/2⌋)/⌊nx/2⌋ and
 * y_n = (y − ⌊ny/2⌋)/⌊ny/2⌋ (y not flipped), and ρ(x, y) is the sum of the
 * amplitudes A of the ellipses that contain (x_n, y_n):
 * ((x′cosφ + y′sinφ)²/a² + (y′cosφ − x′sinφ)²/b² ≤ 1), x′ = x_n − x₀,
 * y′ = y_n − y₀ (L. Shepp and B. Logan, IEEE Trans. Nucl. Sci. 1974;21:21;
 * P. Toft, "The Radon Transform", PhD thesis, DTU 1996, for the contrast).
 *
 * 3D (this project's choice). Each ellipse becomes a sheared ellipsoid with
 * the same in-plane shape and its own z semi-axis c, whose in-plane centre
 * moves with z to (x₀ + d_x·z_n, y₀ + d_y·z_n) (table below): the point is
 * inside when the in-plane quadratic form about that centre plus (z_n/c)² ≤ 1.
 * At z_n = 0 this is exactly the 2D phantom; away from it every ellipse
 * shrinks by √(1 − (z_n/c)²) at its own rate and the ventricles and small
 * features drift, so slices differ and z_n and −z_n are not mirror images.
 * z_n is in the same units as x_n (1 = half the in-plane FOV).
 *
 * Cine (only when there is more than one phase). An extra ellipsoid of
 * amplitude 0.3 below the centre, with t = 2π·phase/phases and
 * f = (1 − cos t)/2 (0 → 1 → 0 over the cycle): centre (0, −0.3 + 0.05·sin t),
 * semi-axes a = 0.06 + 0.05·f, b = 0.08 + 0.04·f and c = 0.6 + 0.1·f (long
 * in z, so that every slice of a multi-slice cine shows it). It grows and
 * shrinks while moving down then up, so no two phases of a cycle are alike.
 */

/** One ellipse (ellipsoid in 3D): amplitude, semi-axes, centre and in-plane angle in degrees. */
export interface Ellipsoid {
  A: number;
  a: number;
  b: number;
  /** z semi-axis (3D only; the 2D phantom ignores it). */
  c: number;
  x0: number;
  y0: number;
  phiDeg: number;
  /** In-plane drift of the centre per unit z (3D only). */
  dx: number;
  dy: number;
}

/**
 * The ten ellipses of the modified Shepp–Logan phantom (A, a, b, x₀, y₀, φ°)
 * as in the ISMRMRD generator, with this project's z semi-axes c and drifts
 * (d_x, d_y).
 */
export const SHEPP_LOGAN_ELLIPSOIDS: readonly Readonly<Ellipsoid>[] = [
  { A: 1, a: 0.69, b: 0.92, c: 0.9, x0: 0, y0: 0, phiDeg: 0, dx: 0, dy: 0 },
  { A: -0.8, a: 0.6624, b: 0.874, c: 0.88, x0: 0, y0: -0.0184, phiDeg: 0, dx: 0, dy: 0 },
  { A: -0.2, a: 0.11, b: 0.31, c: 0.25, x0: 0.22, y0: 0, phiDeg: -18, dx: 0, dy: -0.3 },
  { A: -0.2, a: 0.16, b: 0.41, c: 0.28, x0: -0.22, y0: 0, phiDeg: 18, dx: 0, dy: -0.3 },
  { A: 0.1, a: 0.21, b: 0.25, c: 0.41, x0: 0, y0: 0.35, phiDeg: 0, dx: 0, dy: 0.3 },
  { A: 0.1, a: 0.046, b: 0.046, c: 0.05, x0: 0, y0: 0.1, phiDeg: 0, dx: 0.2, dy: 0 },
  { A: 0.1, a: 0.046, b: 0.046, c: 0.05, x0: 0, y0: -0.1, phiDeg: 0, dx: -0.2, dy: 0 },
  { A: 0.1, a: 0.046, b: 0.023, c: 0.1, x0: -0.08, y0: -0.605, phiDeg: 0, dx: 0, dy: 0 },
  { A: 0.1, a: 0.023, b: 0.023, c: 0.1, x0: 0, y0: -0.606, phiDeg: 0, dx: 0, dy: 0 },
  { A: 0.1, a: 0.023, b: 0.046, c: 0.1, x0: 0.06, y0: -0.605, phiDeg: 0, dx: 0, dy: 0 },
];

/** The beating cine ellipsoid for `phase` of `phases` (see the module comment). */
export function cineEllipsoid(phase: number, phases: number): Ellipsoid {
  const t = (2 * Math.PI * phase) / phases;
  const f = (1 - Math.cos(t)) / 2;
  return { A: 0.3, a: 0.06 + 0.05 * f, b: 0.08 + 0.04 * f, c: 0.6 + 0.1 * f, x0: 0, y0: -0.3 + 0.05 * Math.sin(t), phiDeg: 0, dx: 0, dy: 0 };
}

/** The ellipsoids of cine `phase` of `phases`: the ten Shepp–Logan ones, plus the beating one when phases > 1. */
export function phantomEllipsoids(phase = 0, phases = 1): Ellipsoid[] {
  const list = SHEPP_LOGAN_ELLIPSOIDS.map((e) => ({ ...e }));
  if (phases > 1) list.push(cineEllipsoid(phase, phases));
  return list;
}

/** Normalised coordinate of grid index i on an axis of n points: (i − ⌊n/2⌋)/⌊n/2⌋ (0 when n = 1). */
export function normalisedCoordinate(i: number, n: number): number {
  const h = Math.floor(n / 2);
  return h === 0 ? 0 : (i - h) / h;
}

interface CompiledEllipsoid {
  A: number;
  x0: number;
  y0: number;
  cos: number;
  sin: number;
  invA2: number;
  invB2: number;
  zTerm: number;
}

/** The ellipsoids that reach plane z, with their centres drifted to that plane and (z/c)² precomputed. */
function compileAt(ellipsoids: readonly Ellipsoid[], z: number): CompiledEllipsoid[] {
  return ellipsoids
    .filter((e) => z === 0 || Math.abs(z) <= e.c)
    .map((e) => {
      const phi = (e.phiDeg * Math.PI) / 180;
      return {
        A: e.A, x0: e.x0 + e.dx * z, y0: e.y0 + e.dy * z, cos: Math.cos(phi), sin: Math.sin(phi),
        invA2: 1 / (e.a * e.a), invB2: 1 / (e.b * e.b), zTerm: z === 0 ? 0 : (z * z) / (e.c * e.c),
      };
    });
}

function valueAt(x: number, y: number, list: readonly CompiledEllipsoid[]): number {
  let rho = 0;
  for (let k = 0; k < list.length; k++) {
    const e = list[k];
    const xp = x - e.x0;
    const yp = y - e.y0;
    const u = xp * e.cos + yp * e.sin;
    const v = yp * e.cos - xp * e.sin;
    if (u * u * e.invA2 + v * v * e.invB2 + e.zTerm <= 1) rho += e.A;
  }
  return rho;
}

/**
 * ρ at one normalised point: the sum of the amplitudes of the ellipsoids that
 * contain (x, y, z). With z = 0 this is the 2D definition. The sum runs in
 * float64; the ISMRMRD generator sums in float32, so its "0" ventricles read
 * −1.49e-8 where this gives ≈ −5.6e-17.
 */
export function sheppLoganValue(x: number, y: number, z = 0, ellipsoids: readonly Ellipsoid[] = SHEPP_LOGAN_ELLIPSOIDS): number {
  return valueAt(x, y, compileAt(ellipsoids, z));
}

/** Grid and position of one phantom volume. */
export interface PhantomVolumeSpec {
  /** RO points (no oversampling). */
  nx: number;
  /** E1 points. */
  ny: number;
  /** E2 points (1 for 2D). */
  nz: number;
  /**
   * Normalised z of the volume centre (the slice position; 0 for one slice).
   * Partition p of a 3D volume sits at zCentre + (p − ⌊nz/2⌋)/⌊nz/2⌋.
   */
  zCentre: number;
  /** Cine phase and number of phases (the beating feature appears when phases > 1). */
  phase: number;
  phases: number;
}

/** Normalised z of partition p of a volume (see {@link PhantomVolumeSpec.zCentre}). */
export function partitionZ(spec: Pick<PhantomVolumeSpec, 'nz' | 'zCentre'>, p: number): number {
  return spec.zCentre + normalisedCoordinate(p, spec.nz);
}

/**
 * The real phantom ρ on the [nx, ny, nz] grid (x fastest), written into `dst`
 * (allocated when omitted) and returned.
 */
export function sheppLoganVolume(spec: PhantomVolumeSpec, dst = new Float32Array(spec.nx * spec.ny * spec.nz)): Float32Array {
  const { nx, ny, nz } = spec;
  if (dst.length !== nx * ny * nz) {
    throw new RangeError(`Cannot build phantom: destination length ${dst.length} does not match ${nx}×${ny}×${nz}`);
  }
  const ellipsoids = phantomEllipsoids(spec.phase, spec.phases);
  const xs = new Float64Array(nx);
  for (let x = 0; x < nx; x++) xs[x] = normalisedCoordinate(x, nx);
  for (let p = 0; p < nz; p++) {
    const z = partitionZ(spec, p);
    const active = compileAt(ellipsoids, z);
    for (let y = 0; y < ny; y++) {
      const yn = normalisedCoordinate(y, ny);
      const row = nx * (y + ny * p);
      for (let x = 0; x < nx; x++) dst[row + x] = valueAt(xs[x], yn, active);
    }
  }
  return dst;
}
