/**
 * DICOM output gadgets (DicomFinishGadget and friends).
 */
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { dicomFinishGadget } from './dicom-finish.js';

/** Gadgets of this group, registered by `defaultRegistry()`. */
export const dicomGadgets: readonly AnyGadgetDefinition[] = [dicomFinishGadget];
