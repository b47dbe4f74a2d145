/**
 * All gadgets Gantry ships, and the default registry that resolves
 * Gadgetron class names to them.
 */
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { Registry } from '../engine/registry.js';
import { acquisitionAccumulateTriggerGadget } from './acquisition-accumulate-trigger.js';
import { autoScaleGadget } from './auto-scale.js';
import { bucketToBufferGadget } from './bucket-to-buffer.js';
import { complexToFloatGadget } from './complex-to-float.js';
import { extractGadget } from './extract.js';
import { floatToIntGadget, floatToShortGadget, floatToUIntGadget, floatToUShortGadget } from './float-to-fixed-point.js';
import { imageArraySplitGadget } from './image-array-split.js';
import { imageFinishGadget } from './image-finish.js';
import { imageIndexGadget } from './image-index.js';
import { imageSortGadget } from './image-sort.js';
import { removeROOversamplingGadget } from './remove-ro-oversampling.js';
import { simpleReconGadget } from './simple-recon.js';
import { noiseGadgets } from './noise-gadgets.js';
import { grappaGadgets } from './grappa-gadgets.js';
import { genericPostGadgets } from './generic-post-gadgets.js';
import { dicomGadgets } from './dicom-gadgets.js';

/** Every gadget definition, in catalogue order. */
export const allGadgets: readonly AnyGadgetDefinition[] = [
  removeROOversamplingGadget,
  acquisitionAccumulateTriggerGadget,
  bucketToBufferGadget,
  simpleReconGadget,
  imageArraySplitGadget,
  extractGadget,
  imageFinishGadget,
  complexToFloatGadget,
  floatToUShortGadget,
  floatToShortGadget,
  floatToUIntGadget,
  floatToIntGadget,
  autoScaleGadget,
  imageSortGadget,
  imageIndexGadget,
  ...noiseGadgets,
  ...grappaGadgets,
  ...genericPostGadgets,
  ...dicomGadgets,
];

/** A registry of all shipped gadgets and Gadgetron's readers and writers. */
export function defaultRegistry(): Registry {
  return new Registry(allGadgets);
}
