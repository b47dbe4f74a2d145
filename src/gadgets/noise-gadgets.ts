/**
 * The dependency and noise-prewhitening gadgets: NoiseAdjustGadget (noise
 * prewhitening; stores and loads noise covariances), NoiseSummaryGadget (the
 * client's pre-scan dependency query) and DependencyQueryGadget (gtquery.xml).
 */
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { dependencyQueryGadget } from './dependency-query.js';
import { noiseAdjustGadget } from './noise-adjust.js';
import { noiseSummaryGadget } from './noise-summary.js';

/** Gadgets of this group, registered by `defaultRegistry()`. */
export const noiseGadgets: readonly AnyGadgetDefinition[] = [noiseAdjustGadget, noiseSummaryGadget, dependencyQueryGadget];
