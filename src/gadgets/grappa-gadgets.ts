/**
 * The generic Cartesian recon core: reference prep, coil compression, GRAPPA, FFT recon.
 */
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { genericReconCartesianFFTGadget } from './generic-recon-cartesian-fft.js';
import { genericReconCartesianGrappaGadget } from './generic-recon-cartesian-grappa.js';
import { genericReconEigenChannelGadget } from './generic-recon-eigen-channel.js';
import { genericReconCartesianReferencePrepGadget } from './generic-recon-reference-prep.js';

/** Gadgets of this group, registered by `defaultRegistry()`. */
export const grappaGadgets: readonly AnyGadgetDefinition[] = [
  genericReconCartesianReferencePrepGadget,
  genericReconEigenChannelGadget,
  genericReconCartesianGrappaGadget,
  genericReconCartesianFFTGadget,
];
