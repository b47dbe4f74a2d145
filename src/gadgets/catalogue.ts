/**
 * The gadgets Gantry ships, by Gadgetron class name, each loaded on demand:
 * a configuration loads only the modules of the gadgets it names
 * ({@link Registry.loadFor}), so `gantry recon -c default.xml` does not load
 * the GRAPPA, noise or DICOM code. The class names here must be those of the
 * definitions the loaders return (catalogue.test.ts checks it); the
 * catalogue order is that of `allGadgets`.
 */
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { Registry, type LazyGadget } from '../engine/registry.js';

/** Loader of one module's gadget(s). */
function entry(classNames: readonly string[], load: () => Promise<AnyGadgetDefinition>): LazyGadget {
  return { classNames, load };
}

/** Every shipped gadget, in catalogue order. */
export const gadgetCatalogue: readonly LazyGadget[] = [
  entry(['RemoveROOversamplingGadget'], async () => (await import('./remove-ro-oversampling.js')).removeROOversamplingGadget),
  entry(['AcquisitionAccumulateTriggerGadget'], async () => (await import('./acquisition-accumulate-trigger.js')).acquisitionAccumulateTriggerGadget),
  entry(['BucketToBufferGadget'], async () => (await import('./bucket-to-buffer.js')).bucketToBufferGadget),
  entry(['SimpleReconGadget'], async () => (await import('./simple-recon.js')).simpleReconGadget),
  entry(['ImageArraySplitGadget'], async () => (await import('./image-array-split.js')).imageArraySplitGadget),
  entry(['ExtractGadget'], async () => (await import('./extract.js')).extractGadget),
  entry(['ImageFinishGadget'], async () => (await import('./image-finish.js')).imageFinishGadget),
  entry(['ComplexToFloatGadget'], async () => (await import('./complex-to-float.js')).complexToFloatGadget),
  entry(['FloatToUShortGadget'], async () => (await import('./float-to-fixed-point.js')).floatToUShortGadget),
  entry(['FloatToShortGadget'], async () => (await import('./float-to-fixed-point.js')).floatToShortGadget),
  entry(['FloatToUIntGadget'], async () => (await import('./float-to-fixed-point.js')).floatToUIntGadget),
  entry(['FloatToIntGadget'], async () => (await import('./float-to-fixed-point.js')).floatToIntGadget),
  entry(['AutoScaleGadget'], async () => (await import('./auto-scale.js')).autoScaleGadget),
  entry(['ImageSortGadget'], async () => (await import('./image-sort.js')).imageSortGadget),
  entry(['ImageIndexGadget'], async () => (await import('./image-index.js')).imageIndexGadget),
  entry(['NoiseAdjustGadget'], async () => (await import('./noise-adjust.js')).noiseAdjustGadget),
  entry(['NoiseSummaryGadget'], async () => (await import('./noise-summary.js')).noiseSummaryGadget),
  entry(['DependencyQueryGadget'], async () => (await import('./dependency-query.js')).dependencyQueryGadget),
  entry(['GenericReconCartesianReferencePrepGadget'], async () => (await import('./generic-recon-reference-prep.js')).genericReconCartesianReferencePrepGadget),
  entry(['GenericReconEigenChannelGadget'], async () => (await import('./generic-recon-eigen-channel.js')).genericReconEigenChannelGadget),
  entry(['GenericReconCartesianGrappaGadget'], async () => (await import('./generic-recon-cartesian-grappa.js')).genericReconCartesianGrappaGadget),
  entry(['GenericReconCartesianFFTGadget'], async () => (await import('./generic-recon-cartesian-fft.js')).genericReconCartesianFFTGadget),
  entry(['AsymmetricEchoAdjustROGadget'], async () => (await import('./asymmetric-echo-adjust-ro.js')).asymmetricEchoAdjustROGadget),
  entry(['GenericReconPartialFourierHandlingFilterGadget'], async () => (await import('./generic-recon-partial-fourier-filter.js')).genericReconPartialFourierFilterGadget),
  entry(['GenericReconPartialFourierHandlingPOCSGadget'], async () => (await import('./generic-recon-partial-fourier-pocs.js')).genericReconPartialFourierPocsGadget),
  entry(['GenericReconKSpaceFilteringGadget'], async () => (await import('./generic-recon-kspace-filtering.js')).genericReconKSpaceFilteringGadget),
  entry(['GenericReconFieldOfViewAdjustmentGadget'], async () => (await import('./generic-recon-fov-adjustment.js')).genericReconFieldOfViewAdjustmentGadget),
  entry(['GenericReconNoiseStdMapComputingGadget'], async () => (await import('./generic-recon-noise-std-map.js')).genericReconNoiseStdMapGadget),
  entry(['GenericReconImageArrayScalingGadget'], async () => (await import('./generic-recon-image-array-scaling.js')).genericReconImageArrayScalingGadget),
  entry(
    ['DicomFinishGadget', 'DicomFinishGadgetFLOAT', 'DicomFinishGadgetUSHORT', 'DicomFinishAttribGadget'],
    async () => (await import('./dicom-finish.js')).dicomFinishGadget,
  ),
];

/**
 * A registry of every shipped gadget and Gadgetron's readers and writers
 * whose gadget modules load on demand: call `await registry.loadFor(config)`
 * before planning a pipeline with it.
 */
export function lazyDefaultRegistry(): Registry {
  return new Registry([], undefined, undefined, undefined, undefined, undefined, gadgetCatalogue);
}
