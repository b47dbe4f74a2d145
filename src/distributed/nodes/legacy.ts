/**
 * Gadgetron 3's Distribute/Collect gadgets in version 1 configurations
 * (`IsmrmrdAcquisitionDistributeGadget` … `CollectGadget`). At plan time the
 * gadgets after Distribute, up to the gadget named by its `collector`, become
 * the workers' stream, exactly like a `<distributed>` node whose
 * AcquisitionDistributor keys jobs on `parallel_dimension`; Collect passes
 * the workers' output on.
 */
import type { PropertySchema } from '../../engine/properties.js';
import { PARALLEL_DIMENSIONS } from './distributors.js';

/** Class names of the legacy distribute gadget. */
export const LEGACY_DISTRIBUTE_CLASSES: readonly string[] = ['IsmrmrdAcquisitionDistributeGadget'];
/** Class names of the legacy collect gadget. */
export const LEGACY_COLLECT_CLASSES: readonly string[] = ['CollectGadget'];

/** Properties of IsmrmrdAcquisitionDistributeGadget (Gadgetron 3.17's names and defaults). */
export const legacyDistributeProperties = {
  parallel_dimension: { type: 'enum', values: PARALLEL_DIMENSIONS, default: 'slice', description: 'encoding counter whose values become separate jobs' },
  collector: { type: 'string', default: 'Collect', description: 'name of the gadget that ends the section run on workers' },
  use_this_node_for_compute: { type: 'boolean', default: true, description: 'this server takes jobs too, competing with the workers by load' },
  single_package_mode: { type: 'boolean', default: false, description: 'every acquisition is a job of its own' },
  nodes_used_sequentially: { type: 'boolean', default: true, description: 'a job ends as soon as the next one starts' },
  check_node_alive: { type: 'boolean', default: true, description: 'accepted; Gantry always connects with --worker-connect-timeout' },
  check_node_alive_time_out: { type: 'number', default: 5.0, min: 0, description: 'accepted; Gantry uses --worker-connect-timeout' },
} as const satisfies PropertySchema;

/** Properties of CollectGadget. */
export const legacyCollectProperties = {
  pass_through_mode: { type: 'boolean', default: false, description: 'accepted; Collect always passes the workers\' output on' },
} as const satisfies PropertySchema;

/** How lanes end, from the legacy properties. */
export function legacyLaneMode(props: { single_package_mode: boolean; nodes_used_sequentially: boolean }): 'single-message' | 'sequential' | 'until-end' {
  if (props.single_package_mode) return 'single-message';
  return props.nodes_used_sequentially ? 'sequential' : 'until-end';
}
