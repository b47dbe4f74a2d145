/** Numeric kernels: FFT, complex BLAS and complex-array helpers (no I/O, synchronous). */
export { FftPlan, getFftPlan, fftc, fftcPortable, fft1c, ifft1c, fft2c, ifft2c, fft3c, ifft3c } from './fft.js';
export { cgemm, cherk, cposv, type ComplexScalar, type GemmOptions, type HerkOptions, type MatrixOp, type PosvOptions } from './blas.js';
export { kernelBackend, nativeKernels, nativeKernelsUnavailableReason, type NativeKernelsInfo } from './native.js';
export { rootSumOfSquares, scaleComplex, copyComplexCrop, padCentre, nrmse } from './complex-ops.js';
export {
  KSPACE_FILTER_TYPES, applySeparableFilter, asymmetricFilter, kspaceFilter1D, kspaceFilterOperator, normaliseFilterEnergy,
  padFilterCentre, symmetricFilter, symmetricFilterRef, taperValue, type AsymmetricFilterOptions, type KSpaceFilterType,
} from './filters.js';
export {
  isFullRange, partialFourierFilter1D, partialFourierFilterKSpace, partialFourierPocs, pocsTransitionFilter1D,
  type PocsOptions, type PocsReport, type SampledRange,
} from './partial-fourier.js';
export { cropAxis, cropImageCentre, cropOffset, fourierPadOperator, fourierResizeAxis, padAxis, padOffset, withAxisSize } from './resize.js';
export { adjointMismatch, checkOperand, complexNorm, dotc, shapeSize, type LinearOperator } from './linear-operator.js';
export {
  applyUnmixing, calibrateGrappa, gfactorFromUnmixing, grappaConvolutionKernel, grappaImageDomainKernel, grappaKernelPattern, grappaUnmixing,
  GrappaKspaceConvolution, GrappaUnmixingOperator, type GrappaCalibration, type GrappaCalibrationOptions, type GrappaConvolutionKernel,
  type GrappaKernelOptions, type GrappaPattern,
} from './grappa.js';
export { coilCombine, CoilCombineOperator, coilMapInati, coilMapInatiIter } from './coil-maps.js';
export { applyChannelRotation, ChannelRotation, kltCoefficients, kltModesKept, type KltCoefficients } from './klt.js';
