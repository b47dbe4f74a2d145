/**
 * Birdcage-like receive coil sensitivities (after J. Fessler's IRT
 * `mri_birdcage`, as `ismrmrd_generate_cartesian_shepp_logan` uses them),
 * generalised to any coil count and to 3D.
 *
 * Coil c sits at (1.5·cos θ_c, 1.5·sin θ_c, z_c) in normalised coordinates
 * (1 = half the in-plane FOV; see shepp-logan.ts). With X = x_n − 1.5·cos θ_c,
 * Y = y_n − 1.5·sin θ_c and Z = z_n − z_c:
 *
 *   csm_c(x, y, z) = exp(i·(atan2(X, −Y) − θ_c)) / √(X² + Y² + Z²).
 *
 * Layout. One ring (every 2D or multi-slice scan, and 3D with fewer than 4
 * coils): θ_c = 2πc/C and z_c = 0, so at z_n = 0 the maps are exactly the
 * ISMRMRD generator's. 3D volumes (E2 > 1) with C ≥ 4 coils use two rings at
 * z_c = −0.5 (coils 0 … ⌈C/2⌉ − 1) and +0.5 (the rest), the second ring turned
 * by half a coil spacing, so that the maps also vary along E2 (needed for
 * acceleration in E2). In ring r with n_r coils, coil j has
 * θ = 2πj/n_r + r·π/n_r. The maps are not normalised.
 */

/** Position of one coil: angle θ (radians) on the circle of radius 1.5, and z. */
export interface CoilPosition {
  angle: number;
  z: number;
}

/** Radius of the coil circle in normalised units. */
export const COIL_RADIUS = 1.5;

/** Coil positions for `coils` coils in `rings` rings (1 or 2; see the module comment). */
export function birdcageLayout(coils: number, rings: 1 | 2 = 1): CoilPosition[] {
  if (!Number.isInteger(coils) || coils < 1) throw new RangeError(`Cannot lay out ${coils} coils: give a positive integer`);
  if (rings === 1 || coils < 2) {
    return Array.from({ length: coils }, (_, c) => ({ angle: (2 * Math.PI * c) / coils, z: 0 }));
  }
  const first = Math.ceil(coils / 2);
  const out: CoilPosition[] = [];
  for (let c = 0; c < coils; c++) {
    const r = c < first ? 0 : 1;
    const n = r === 0 ? first : coils - first;
    const j = r === 0 ? c : c - first;
    out.push({ angle: (2 * Math.PI * j) / n + (r * Math.PI) / n, z: r === 0 ? -0.5 : 0.5 });
  }
  return out;
}

/** The number of rings this generator uses: 2 for 3D volumes with at least 4 coils, otherwise 1. */
export function ringsFor(coils: number, e2: number): 1 | 2 {
  return e2 > 1 && coils >= 4 ? 2 : 1;
}

/**
 * Sensitivity of the coil at `pos` at normalised (x, y, z), written as
 * [re, im] into `out` at `offset` (float64 maths). Returns `out`.
 */
export function birdcageSensitivity<T extends Float32Array | Float64Array | number[]>(
  pos: CoilPosition,
  x: number,
  y: number,
  z: number,
  out: T,
  offset = 0,
): T {
  const X = x - COIL_RADIUS * Math.cos(pos.angle);
  const Y = y - COIL_RADIUS * Math.sin(pos.angle);
  const Z = z - pos.z;
  const mag = 1 / Math.sqrt(X * X + Y * Y + Z * Z);
  const phase = Math.atan2(X, -Y) - pos.angle;
  out[offset] = mag * Math.cos(phase);
  out[offset + 1] = mag * Math.sin(phase);
  return out;
}

/** Grid of a coil-map volume: nx × ny × nz points, with partition z from {@link partitionZ}. */
export interface CoilMapGrid {
  nx: number;
  ny: number;
  nz: number;
  zCentre: number;
}

/**
 * Complex coil maps on the [nx, ny, nz, C] grid (x fastest, interleaved re/im
 * float32), written into `dst` (allocated when omitted) and returned. Grid
 * coordinates are those of the phantom: x_n = (x − ⌊nx/2⌋)/⌊nx/2⌋ and so on,
 * z_n = zCentre + (p − ⌊nz/2⌋)/⌊nz/2⌋.
 */
export function birdcageMaps(
  grid: CoilMapGrid,
  layout: readonly CoilPosition[],
  dst = new Float32Array(2 * grid.nx * grid.ny * grid.nz * layout.length),
): Float32Array {
  const { nx, ny, nz } = grid;
  const n = nx * ny * nz;
  if (dst.length !== 2 * n * layout.length) {
    throw new RangeError(`Cannot build coil maps: destination length ${dst.length} does not match 2 × ${nx}×${ny}×${nz}×${layout.length}`);
  }
  const hx = Math.floor(nx / 2);
  const hy = Math.floor(ny / 2);
  const hz = Math.floor(nz / 2);
  const tmp = new Float64Array(2);
  for (let c = 0; c < layout.length; c++) {
    const pos = layout[c];
    for (let p = 0; p < nz; p++) {
      const z = grid.zCentre + (hz === 0 ? 0 : (p - hz) / hz);
      for (let y = 0; y < ny; y++) {
        const yn = hy === 0 ? 0 : (y - hy) / hy;
        let at = 2 * (nx * (y + ny * (p + nz * c)));
        for (let x = 0; x < nx; x++) {
          birdcageSensitivity(pos, hx === 0 ? 0 : (x - hx) / hx, yn, z, tmp);
          dst[at++] = tmp[0];
          dst[at++] = tmp[1];
        }
      }
    }
  }
  return dst;
}
