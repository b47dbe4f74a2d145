/**
 * DependencyQueryGadget (config `gtquery.xml`, used by the legacy
 * `gtdependencyquery` tool): at the end of its input, lists the stored noise
 * dependencies as `<prefix>_<measurementID>` values of one meta attribute
 * (default `NoiseDependencies`), or the single value `Dummy` when there are
 * none, and emits it as a dependency-query message (id 1019). Gadgetron
 * listed its noise folder; Gantry lists its dependency store, which works for
 * the folder store (the REST API can only search within one subject).
 */
import { defineGadget } from '../engine/gadget.js';
import { isAcquisition, type DependencyQueryMessage } from '../ismrmrd/messages.js';
import { metaAppend, serializeMeta, type MetaContainer } from '../ismrmrd/meta.js';
import { LEGACY_NOISE_PREFIX, NOISE_COVARIANCE_NAME } from '../storage/context.js';

export const dependencyQueryGadget = defineGadget({
  name: 'DependencyQueryGadget',
  classNames: ['DependencyQueryGadget'],
  properties: {
    noise_dependency_prefix: { type: 'string', default: '', description: `prefix of the listed names (empty: ${LEGACY_NOISE_PREFIX})` },
    noise_dependency_attrib_name: { type: 'string', default: '', description: 'meta attribute name (empty: NoiseDependencies)' },
    clean_storage_while_query: { type: 'boolean', default: false, description: 'accepted for compatibility; expiry (48 h time to live) cleans the store' },
    time_limit_in_storage: { type: 'number', default: 0, description: 'accepted for compatibility (hours)' },
  },
  strict: true,
  description: 'Lists the stored noise dependencies (message 1019)',
  accepts: isAcquisition,
  async run(input, output, props, context) {
    for await (const _acq of input) {
      // a dependency query has no input; readouts sent anyway are consumed
    }
    const prefix = props.noise_dependency_prefix === '' ? LEGACY_NOISE_PREFIX : props.noise_dependency_prefix;
    const attribute = props.noise_dependency_attrib_name === '' ? 'NoiseDependencies' : props.noise_dependency_attrib_name;
    const ids: string[] = [];
    const storage = context.storage;
    if (storage?.listAll) {
      try {
        for (const item of await storage.listAll()) {
          if (item.tags.name !== NOISE_COVARIANCE_NAME) continue;
          for (const id of item.tags.custom?.measurement ?? []) if (!ids.includes(id)) ids.push(id);
        }
      } catch (err) {
        context.log.warn('cannot list the stored dependencies', { error: err instanceof Error ? err.message : String(err) });
      }
    }
    const meta: MetaContainer = new Map();
    if (ids.length === 0) metaAppend(meta, attribute, 'Dummy');
    for (const id of ids.sort()) metaAppend(meta, attribute, `${prefix}_${id}`);
    const message: DependencyQueryMessage = { kind: 'dependencyquery', xml: serializeMeta(meta) };
    await output.push(message);
  },
});
