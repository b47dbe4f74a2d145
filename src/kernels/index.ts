/** Numeric kernels: FFT and complex-array helpers (no I/O, synchronous). */
export { FftPlan, getFftPlan, fftc, fft1c, ifft1c, fft2c, ifft2c, fft3c, ifft3c } from './fft.js';
export { rootSumOfSquares, scaleComplex, copyComplexCrop, padCentre, nrmse } from './complex-ops.js';
