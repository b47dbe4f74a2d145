/**
 * Property value references: a value containing `@` reads `property@node` and stands for the value
 * of that property on the node of that name, anywhere in the configuration (Gadgetron semantics).
 */
import { ConfigError, configErrorPrefix } from './errors.js';
import type { ComponentSpec, PropertySpec, StreamConfiguration, StreamSpec } from './stream-config.js';

/** Every gadget, branch, merge and distributor of `stream`, nested streams included. */
export function streamComponents(stream: StreamSpec, out: ComponentSpec[] = []): ComponentSpec[] {
  for (const node of stream.nodes) {
    switch (node.type) {
      case 'gadget': out.push(node); break;
      case 'parallel':
        out.push(node.branch, node.merge);
        for (const inner of node.streams) streamComponents(inner, out);
        break;
      case 'distributed':
        out.push(node.distributor);
        streamComponents(node.stream, out);
        break;
      case 'puredistributed':
      case 'parallelprocess':
        streamComponents(node.stream, out);
        break;
      case 'external': break;
    }
  }
  return out;
}

/**
 * Replaces every reference in `config` by the value it names, following chains of references.
 * Unknown, ambiguous, malformed and cyclic references are {@link ConfigError}s (`CONFIG_REFERENCE`).
 */
export function resolvePropertyReferences(config: StreamConfiguration, source?: string): void {
  const components = streamComponents(config.stream);
  const byName = new Map<string, ComponentSpec[]>();
  for (const component of components) {
    const list = byName.get(component.name);
    if (list) list.push(component);
    else byName.set(component.name, [component]);
  }
  const owner = new Map<PropertySpec, ComponentSpec>();
  for (const component of components) for (const property of component.properties) owner.set(property, component);

  const resolved = new Map<PropertySpec, string>();
  const fail = (at: PropertySpec, message: string): ConfigError => new ConfigError('CONFIG_REFERENCE',
    `${configErrorPrefix(source)}: property '${at.name}' at line ${at.line} ${message}`, { line: at.line, column: at.column, source });

  const resolve = (start: PropertySpec): string => {
    const path: PropertySpec[] = [];
    const onPath = new Set<PropertySpec>();
    let current = start;
    let value: string;
    for (;;) {
      const known = resolved.get(current);
      if (known !== undefined) { value = known; break; }
      if (!current.value.includes('@')) { value = current.value; break; }
      path.push(current);
      onPath.add(current);
      const reference = current.value;
      const at = reference.indexOf('@');
      const propertyName = reference.slice(0, at).trim();
      const nodeName = reference.slice(at + 1).trim();
      if (propertyName === '' || nodeName === '') {
        throw fail(current, `has the value '${clip(reference)}', which is not a reference of the form property@node`);
      }
      const targets = byName.get(nodeName) ?? [];
      if (targets.length === 0) throw fail(current, `refers to '${clip(reference)}', but no node is named '${clip(nodeName)}'`);
      if (targets.length > 1) {
        throw fail(current, `refers to '${clip(reference)}', but ${targets.length} nodes are named '${clip(nodeName)}' (lines ${targets.map((t) => t.line).join(', ')})`);
      }
      const target = targets[0] as ComponentSpec;
      const next = target.properties.find((p) => p.name === propertyName);
      if (!next) {
        throw fail(current, `refers to '${clip(reference)}', but node '${clip(nodeName)}' at line ${target.line} has no property '${clip(propertyName)}'`);
      }
      if (onPath.has(next)) {
        const cycle = [...path.slice(path.indexOf(next)), next].map((p) => `${p.name}@${owner.get(p)?.name ?? '?'}`);
        throw fail(current, `is part of a cyclic reference: ${cycle.join(' → ')}`);
      }
      current = next;
    }
    for (const property of path) resolved.set(property, value);
    return value;
  };

  for (const component of components) {
    for (const property of component.properties) {
      if (property.value.includes('@')) resolve(property);
    }
  }
  for (const [property, value] of resolved) property.value = value;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
