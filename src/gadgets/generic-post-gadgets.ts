/**
 * The generic Cartesian recon pre/post-processing: asymmetric echo, partial Fourier, filters, FOV, scaling, std map.
 */
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { asymmetricEchoAdjustROGadget } from './asymmetric-echo-adjust-ro.js';
import { genericReconFieldOfViewAdjustmentGadget } from './generic-recon-fov-adjustment.js';
import { genericReconImageArrayScalingGadget } from './generic-recon-image-array-scaling.js';
import { genericReconKSpaceFilteringGadget } from './generic-recon-kspace-filtering.js';
import { genericReconNoiseStdMapGadget } from './generic-recon-noise-std-map.js';
import { genericReconPartialFourierFilterGadget } from './generic-recon-partial-fourier-filter.js';
import { genericReconPartialFourierPocsGadget } from './generic-recon-partial-fourier-pocs.js';

/** Gadgets of this group, registered by `defaultRegistry()`. */
export const genericPostGadgets: readonly AnyGadgetDefinition[] = [
  asymmetricEchoAdjustROGadget,
  genericReconPartialFourierFilterGadget,
  genericReconPartialFourierPocsGadget,
  genericReconKSpaceFilteringGadget,
  genericReconFieldOfViewAdjustmentGadget,
  genericReconNoiseStdMapGadget,
  genericReconImageArrayScalingGadget,
];
