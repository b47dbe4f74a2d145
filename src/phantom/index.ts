/** Synthetic ISMRMRD data: the Shepp–Logan phantom generator behind `gantry phantom`. */
export { generatePhantom, phantomVolume, GROUND_TRUTH } from './generate.js';
export type { PhantomSummary, PhantomVolume } from './generate.js';
export { resolvePhantomOptions, scanGeometry, PHANTOM_DEFAULTS, ACS_MODES } from './options.js';
export type { AcsMode, PhantomOptions, ResolvedPhantomOptions, ScanGeometry, IndexRange } from './options.js';
export { SHEPP_LOGAN_ELLIPSOIDS, sheppLoganValue, sheppLoganVolume, phantomEllipsoids, cineEllipsoid, normalisedCoordinate } from './shepp-logan.js';
export type { Ellipsoid, PhantomVolumeSpec } from './shepp-logan.js';
export { birdcageLayout, birdcageMaps, birdcageSensitivity, ringsFor, COIL_RADIUS } from './coil-maps.js';
export type { CoilPosition, CoilMapGrid } from './coil-maps.js';
export { ReceiverNoise, noiseCovariance, relativeNoiseCovariance, choleskyLower } from './noise.js';
export { SeededRandom } from './random.js';
export { plannedReadouts, plannedBlocks, imagingLines, separateCalibrationLines } from './sampling.js';
export type { PlannedReadout, PlannedLine, PlannedBlock, ReadoutKind } from './sampling.js';
export { phantomHeader, acquisitionHeader, sliceCentre, reconFov } from './header.js';
