/**
 * Writes a typed stream configuration back to version 2 XML, the form in which Gadgetron forwards
 * a configuration to a remote worker: readers and writers without slots, every gadget with dll,
 * classname, name and `<property name= value=/>`, references already resolved.
 */
import type { XmlElement } from '../util/xml.js';
import type {
  ComponentSpec, DistributedSpec, NodeSpec, PureDistributedSpec, ReaderSpec, StreamConfiguration, StreamSpec, WriterSpec,
} from './stream-config.js';

/** Options for {@link serializeStreamConfiguration}. */
export interface SerializeConfigOptions {
  /** Write explicit reader `<slot>`s (Gadgetron drops them when forwarding; default false). */
  includeSlots?: boolean;
}

/** Serializes `config` as a version 2 configuration document. */
export function serializeStreamConfiguration(config: StreamConfiguration, options: SerializeConfigOptions = {}): string {
  const out = new ConfigWriter(options.includeSlots ?? false);
  out.line(0, '<?xml version="1.0" encoding="UTF-8"?>');
  out.line(0, '<configuration>');
  out.line(1, '<version>2</version>');
  out.list(1, 'readers', config.readers, true);
  out.list(1, 'writers', config.writers, true);
  out.stream(1, 'stream', config.stream);
  out.line(0, '</configuration>');
  return out.text();
}

/**
 * The configuration a remote worker of a distributed node runs: the node's readers, writers and
 * inner stream (a `puredistributed` node's gadgets become a stream keyed "PureStream").
 */
export function workerConfiguration(node: DistributedSpec | PureDistributedSpec): StreamConfiguration {
  const stream: StreamSpec = node.type === 'distributed'
    ? node.stream
    : { key: 'PureStream', nodes: node.stream.nodes, line: node.stream.line, column: node.stream.column };
  return { format: 'v2', readers: node.readers, writers: node.writers, stream };
}

// XML 1.0 Char production.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

class ConfigWriter {
  private readonly parts: string[] = [];

  constructor(private readonly includeSlots: boolean) {}

  text(): string {
    return this.parts.join('');
  }

  line(depth: number, content: string): void {
    this.parts.push(`${'\t'.repeat(depth)}${content}\n`);
  }

  /** A `<readers>` or `<writers>` list; an empty one is written only when `always`. */
  list(depth: number, tag: 'readers' | 'writers', items: ReadonlyArray<ReaderSpec | WriterSpec>, always: boolean): void {
    if (items.length === 0) {
      if (always) this.line(depth, `<${tag}/>`);
      return;
    }
    const itemTag = tag === 'readers' ? 'reader' : 'writer';
    this.line(depth, `<${tag}>`);
    for (const item of items) {
      this.line(depth + 1, `<${itemTag}>`);
      this.leaf(depth + 2, 'dll', item.dll);
      this.leaf(depth + 2, 'classname', item.classname);
      if (this.includeSlots && 'slot' in item && item.slot !== undefined) this.leaf(depth + 2, 'slot', String(item.slot));
      this.line(depth + 1, `</${itemTag}>`);
    }
    this.line(depth, `</${tag}>`);
  }

  stream(depth: number, tag: 'stream' | 'purestream', stream: StreamSpec): void {
    const open = tag === 'stream' && stream.key !== undefined ? `<${tag} key="${attr(stream.key)}"` : `<${tag}`;
    if (stream.nodes.length === 0) {
      this.line(depth, `${open}/>`);
      return;
    }
    this.line(depth, `${open}>`);
    for (const node of stream.nodes) {
      if (tag === 'purestream' && node.type !== 'gadget') {
        throw new TypeError(`Cannot serialize config: a pure stream may hold only gadgets, not a ${node.type} node`);
      }
      this.node(depth + 1, node);
    }
    this.line(depth, `</${tag}>`);
  }

  private node(depth: number, node: NodeSpec): void {
    switch (node.type) {
      case 'gadget':
        this.component(depth, 'gadget', node);
        return;
      case 'parallel':
        this.line(depth, '<parallel>');
        this.component(depth + 1, 'branch', node.branch);
        this.component(depth + 1, 'merge', node.merge);
        for (const stream of node.streams) this.stream(depth + 1, 'stream', stream);
        this.line(depth, '</parallel>');
        return;
      case 'distributed':
        this.line(depth, '<distributed>');
        this.list(depth + 1, 'readers', node.readers, true);
        this.list(depth + 1, 'writers', node.writers, true);
        this.component(depth + 1, 'distributor', node.distributor);
        this.stream(depth + 1, 'stream', node.stream);
        this.line(depth, '</distributed>');
        return;
      case 'puredistributed':
        this.line(depth, '<puredistributed>');
        this.list(depth + 1, 'readers', node.readers, true);
        this.list(depth + 1, 'writers', node.writers, true);
        this.stream(depth + 1, 'purestream', node.stream);
        this.line(depth, '</puredistributed>');
        return;
      case 'parallelprocess':
        this.line(depth, `<parallelprocess workers="${node.workers}">`);
        this.stream(depth + 1, 'purestream', node.stream);
        this.line(depth, '</parallelprocess>');
        return;
      case 'external': {
        this.line(depth, '<external>');
        const { action } = node;
        if (action.kind === 'execute') {
          const target = action.target === undefined ? '' : ` target="${attr(action.target)}"`;
          this.line(depth + 1, `<execute name="${attr(action.name)}" type="${attr(action.language)}"${target}/>`);
        } else {
          this.line(depth + 1, `<connect address="${attr(action.address)}" port="${action.port}"/>`);
        }
        this.list(depth + 1, 'readers', node.readers, false);
        this.list(depth + 1, 'writers', node.writers, false);
        if (node.configuration) this.line(depth + 1, verbatim(node.configuration));
        this.line(depth, '</external>');
        return;
      }
    }
  }

  private component(depth: number, tag: string, spec: ComponentSpec): void {
    this.line(depth, `<${tag}>`);
    this.leaf(depth + 1, 'dll', spec.dll);
    this.leaf(depth + 1, 'classname', spec.classname);
    this.leaf(depth + 1, 'name', spec.name);
    for (const p of spec.properties) this.line(depth + 1, `<property name="${attr(p.name)}" value="${attr(p.value)}"/>`);
    this.line(depth, `</${tag}>`);
  }

  private leaf(depth: number, tag: string, value: string): void {
    this.line(depth, `<${tag}>${content(value)}</${tag}>`);
  }
}

/** Writes an element exactly as stored: its text nodes keep their whitespace. */
function verbatim(element: XmlElement): string {
  let open = `<${element.name}`;
  for (const [key, value] of Object.entries(element.attributes)) open += ` ${key}="${attr(value)}"`;
  if (element.children.length === 0) return `${open}/>`;
  let body = '';
  for (const child of element.children) body += child.type === 'text' ? content(child.text) : verbatim(child);
  return `${open}>${body}</${element.name}>`;
}

function checkChars(text: string): void {
  if (NOT_XML_CHAR.test(text)) {
    throw new TypeError(`Cannot serialize config: ${JSON.stringify(text.slice(0, 60))} holds a character that XML 1.0 does not allow`);
  }
}

/** Escapes element content; `\r` as a reference so that it survives line-end normalization. */
function content(text: string): string {
  checkChars(text);
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/** Escapes a double-quoted attribute value; whitespace as references so that it survives normalization. */
function attr(text: string): string {
  checkChars(text);
  return text.replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};
