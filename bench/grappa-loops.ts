/**
 * GRAPPA loop speed check (a script, not a test). It prints the CPU ms per
 * call (process.cpuUsage, best of 3 rounds) of the per-slice GRAPPA loops
 * at real-time cine sizes: 256×192, 32 coils, 10 target channels, R = 3,
 * 24 ACS lines. Figures: docs/performance.md, "GRAPPA loops, this session".
 * Run: npx tsc -p . && node dist/bench/grappa-loops.js [name prefix]
 */
import { coilMapInati } from '../src/kernels/coil-maps.js';
import { applyUnmixing, calibrateGrappa, gfactorFromUnmixing, grappaConvolutionKernel, grappaUnmixingChannels } from '../src/kernels/grappa.js';
import { normaliseMaps, randomComplex } from '../src/kernels/testing.js';
import { complexToReal } from '../src/gadgets/image-pixels.js';
import { tasks } from '../src/gadgets/generic-recon-tasks.js';

const only = process.argv[2];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function bench(name: string, reps: number, fn: () => void): void {
  if (only !== undefined && !name.startsWith(only)) return;
  fn();
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = cpuMs();
    for (let r = 0; r < reps; r++) fn();
    best = Math.min(best, (cpuMs() - start) / reps);
  }
  console.log(`${name.padEnd(44)} ${best.toFixed(2).padStart(9)} ms CPU per call`);
}

const RO = 256;
const E1 = 192;
const CHA = 32;
const DST = 10;
const vol = RO * E1;
const acs = randomComplex(RO * 24 * CHA, 1);
const options = { accelE1: 3, kRO: 5, kE1: 4, lambda: 5e-4, fitItself: true };
const calibrate = () => calibrateGrappa(acs, [RO, 24, 1, CHA], acs.subarray(0, 2 * RO * 24 * DST), DST, options);
bench('calibrateGrappa', 3, () => void calibrate());
const conv = grappaConvolutionKernel(calibrate());
const maps = normaliseMaps(randomComplex(vol * DST, 2), vol, DST);
const unmixing = new Float32Array(2 * vol * CHA);
bench('grappaUnmixingChannels, 32 channels', 1, () => void grappaUnmixingChannels(conv, maps, [RO, E1, 1], 0, CHA, unmixing));
const aliased = randomComplex(vol * CHA, 3);
const combined = new Float32Array(2 * vol);
bench('applyUnmixing, 1 frame', 10, () => void applyUnmixing(aliased, unmixing, vol, CHA, combined, 0.5));
const kspace = randomComplex(vol * CHA * 2, 7);
const frames = new Float32Array(2 * vol * 2);
bench('grappaUnwrap task, 2 frames (IFFTs included)', 2, () => void tasks.grappaUnwrap({
  data: kspace, dims: [RO, E1, 1, CHA], frames: [[0, 0], [1, 0]], unmixing, weightChannels: CHA, channels: CHA, scale: 0.5, out: frames,
}));
const gfactor = new Float32Array(vol);
bench('gfactorFromUnmixing', 10, () => void gfactorFromUnmixing(unmixing, vol, CHA, 3, gfactor));
const coilImages = randomComplex(vol * CHA, 4);
const coilMaps = new Float32Array(coilImages.length);
bench('coilMapInati, 32 coils', 1, () => void coilMapInati(coilImages, [RO, E1, 1, CHA], 7, 5, 3, coilMaps));
const images = randomComplex(vol * 24, 6);
bench('complexToReal magnitude, 24 frames', 5, () => void complexToReal(images, 'magnitude'));
