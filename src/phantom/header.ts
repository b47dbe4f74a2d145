/**
 * The phantom's ISMRMRD XML header, acquisition headers and ground-truth
 * image headers, and the slice geometry they share.
 *
 * Geometry. One normalised unit (see shepp-logan.ts) is 150 mm, so the recon
 * FOV is matrix·150/⌊matrix/2⌋ mm along RO (300 mm for even sizes),
 * pe·150/⌊pe/2⌋ mm along E1 (the phantom always fills the FOV; pe sets the
 * resolution), and along E2 e2·150/⌊e2/2⌋ mm for 3D or a 6 mm slice for 2D.
 * The encoded RO FOV is the recon FOV × oversampling. Slice s of S lies at
 * z_n = −0.5 + (s + ½)/S (0 for one slice), i.e. position (0, 0, 150·z_n) mm,
 * with read, phase and slice directions x, y and z.
 *
 * parallelImaging is written when the scan is accelerated, and also (factors
 * 1 × 1, calibrationMode "other", as scanner converters do) for unaccelerated
 * partial-Fourier or asymmetric-echo scans: without it Gadgetron's
 * BucketToBuffer sizes E1 from the encoding limits (max − min + 1) instead of
 * the encoded matrix and drops the lines above that size.
 */
import { AcqFlag, DataType, emptyAcquisitionHeader, emptyImageHeader, ImageType, isFlagSet } from '../ismrmrd/types.js';
import type { AcquisitionHeader, ImageHeader, Vec3 } from '../ismrmrd/types.js';
import type { Encoding, EncodingLimits, IsmrmrdHeader, Limit } from '../ismrmrd/xml-header.js';
import type { ResolvedPhantomOptions, ScanGeometry } from './options.js';
import type { PlannedReadout } from './sampling.js';

/** Millimetres per normalised unit. */
export const MM_PER_UNIT = 150;
/** Slice thickness of 2D scans, mm. */
export const SLICE_THICKNESS_MM = 6;
/** Dwell time of every readout, µs (as the ISMRMRD generator). */
export const SAMPLE_TIME_US = 5;
/** Repetition time, ms; acquisition_time_stamp advances by TR/2.5 ms ticks per readout. */
export const TR_MS = 5;
/** Length of the simulated cardiac cycle, ms (physiology_time_stamp[0] of cine phases). */
export const RR_MS = 1000;
/** relativeReceiverNoiseBandwidth written in the header. */
export const NOISE_BANDWIDTH = 0.793;

const READ_DIR: Vec3 = [1, 0, 0];
const PHASE_DIR: Vec3 = [0, 1, 0];
const SLICE_DIR: Vec3 = [0, 0, 1];

/** Normalised z of the centre of slice `s` of `slices`. */
export function sliceCentre(s: number, slices: number): number {
  return slices === 1 ? 0 : -0.5 + (s + 0.5) / slices;
}

/** FOV in mm of an axis of n points: n·150/⌊n/2⌋ (150 when n = 1). */
function axisFov(n: number): number {
  const h = Math.floor(n / 2);
  return h === 0 ? MM_PER_UNIT : (n * MM_PER_UNIT) / h;
}

/** Recon FOV in mm (x, y, z). */
export function reconFov(o: ResolvedPhantomOptions): Vec3 {
  return [axisFov(o.matrix), axisFov(o.pe), o.e2 > 1 ? axisFov(o.e2) : SLICE_THICKNESS_MM];
}

/** Position (mm) of slice `s`. */
export function slicePosition(o: ResolvedPhantomOptions, s: number): Vec3 {
  return [0, 0, MM_PER_UNIT * sliceCentre(s, o.slices)];
}

function limit(minimum: number, maximum: number, center: number): Limit {
  return { minimum, maximum, center };
}

/** The options recorded in the header's `GantryPhantomOptions` user parameter (no file names). */
export function recordedOptions(o: ResolvedPhantomOptions): string {
  const { output: _o, group: _g, overwrite: _w, ...rest } = o;
  return JSON.stringify(rest);
}

/** The complete ISMRMRD XML header of the scan. */
export function phantomHeader(o: ResolvedPhantomOptions, g: ScanGeometry): IsmrmrdHeader {
  const fov = reconFov(o);
  const limits: EncodingLimits = {
    kspace_encoding_step_0: limit(g.readoutLength - g.samples, g.readoutLength - 1, Math.floor(g.readoutLength / 2)),
    kspace_encoding_step_1: limit(g.firstE1, o.pe - 1, g.centreE1),
    kspace_encoding_step_2: limit(0, o.e2 - 1, g.centreE2),
    average: limit(0, 0, 0),
    slice: limit(0, o.slices - 1, 0),
    contrast: limit(0, 0, 0),
    phase: limit(0, o.phases - 1, 0),
    repetition: limit(0, o.repetitions * g.passes - 1, 0),
    set: limit(0, 0, 0),
    segment: limit(0, 0, 0),
  };
  const encoding: Encoding = {
    encodedSpace: {
      matrixSize: { x: g.readoutLength, y: o.pe, z: o.e2 },
      fieldOfView_mm: { x: fov[0] * o.oversampling, y: fov[1], z: fov[2] },
    },
    reconSpace: { matrixSize: { x: o.matrix, y: o.pe, z: o.e2 }, fieldOfView_mm: { x: fov[0], y: fov[1], z: fov[2] } },
    encodingLimits: limits,
    trajectory: 'cartesian',
  };
  if (g.accelerated) {
    encoding.parallelImaging = {
      accelerationFactor: { kspace_encoding_step_1: o.accel, kspace_encoding_step_2: o.accelE2 },
      calibrationMode: o.acsMode,
      ...(o.acsMode === 'interleaved' ? { interleavingDimension: 'repetition' as const } : {}),
    };
  } else if (g.firstE1 > 0 || g.samples < g.readoutLength) {
    encoding.parallelImaging = {
      accelerationFactor: { kspace_encoding_step_1: 1, kspace_encoding_step_2: 1 },
      calibrationMode: 'other',
    };
  }
  return {
    version: 8,
    measurementInformation: {
      measurementID: `GANTRY_PHANTOM_${o.seed}`,
      patientPosition: 'HFS',
      protocolName: 'gantry_phantom',
      measurementDependency: [],
    },
    acquisitionSystemInformation: {
      systemVendor: 'Gantry',
      systemModel: 'Synthetic Shepp-Logan phantom',
      systemFieldStrength_T: 1.5,
      relativeReceiverNoiseBandwidth: NOISE_BANDWIDTH,
      receiverChannels: o.coils,
      coilLabel: Array.from({ length: o.coils }, (_, c) => ({ coilNumber: c, coilName: `Birdcage_${c}` })),
      institutionName: 'Gantry Synthetic Imaging',
    },
    experimentalConditions: { H1resonanceFrequency_Hz: 63500000 },
    encoding: [encoding],
    sequenceParameters: { TR: [TR_MS], TE: [2.5], TI: [], flipAngle_deg: [15], sequence_type: 'Flash', echo_spacing: [] },
    userParameters: {
      userParameterLong: [],
      userParameterDouble: [],
      userParameterString: [{ name: 'GantryPhantomOptions', value: recordedOptions(o) }],
      userParameterBase64: [],
    },
    waveformInformation: [],
  };
}

function channelMask(coils: number): bigint[] {
  const mask = new Array<bigint>(16).fill(0n);
  for (let c = 0; c < coils; c++) mask[c >> 6] = (mask[c >> 6] as bigint) | (1n << BigInt(c & 63));
  return mask;
}

/** Acquisition header of readout number `counter` (0-based, in scan order). */
export function acquisitionHeader(o: ResolvedPhantomOptions, g: ScanGeometry, r: PlannedReadout, counter: number): AcquisitionHeader {
  const h = emptyAcquisitionHeader();
  const noise = isFlagSet(r.flags, AcqFlag.IS_NOISE_MEASUREMENT);
  h.flags = r.flags;
  h.scan_counter = counter + 1;
  h.acquisition_time_stamp = Math.round((counter * TR_MS) / 2.5);
  if (!noise && o.phases > 1) h.physiology_time_stamp = [Math.round((r.phase * RR_MS) / o.phases / 2.5), 0, 0];
  h.number_of_samples = noise ? g.readoutLength : g.samples;
  h.center_sample = noise ? 0 : g.centerSample;
  h.available_channels = o.coils;
  h.active_channels = o.coils;
  h.channel_mask = channelMask(o.coils);
  h.sample_time_us = SAMPLE_TIME_US;
  h.position = noise ? [0, 0, 0] : slicePosition(o, r.slice);
  h.read_dir = [...READ_DIR];
  h.phase_dir = [...PHASE_DIR];
  h.slice_dir = [...SLICE_DIR];
  h.idx.kspace_encode_step_1 = r.e1;
  h.idx.kspace_encode_step_2 = r.e2;
  h.idx.slice = r.slice;
  h.idx.phase = r.phase;
  h.idx.repetition = r.repetition;
  return h;
}

/** Header of a complex float ground-truth image of `x × y × z` pixels and `channels` channels. */
export function groundTruthImageHeader(
  o: ResolvedPhantomOptions,
  size: [number, number, number],
  channels: number,
  fov: Vec3,
  slice: number,
  phase: number,
  series: number,
  index: number,
): ImageHeader {
  const h = emptyImageHeader();
  h.data_type = DataType.CXFLOAT;
  h.image_type = ImageType.COMPLEX;
  h.matrix_size = [...size];
  h.field_of_view = fov;
  h.channels = channels;
  h.position = slicePosition(o, slice);
  h.read_dir = [...READ_DIR];
  h.phase_dir = [...PHASE_DIR];
  h.slice_dir = [...SLICE_DIR];
  h.slice = slice;
  h.phase = phase;
  h.image_series_index = series;
  h.image_index = index;
  return h;
}
