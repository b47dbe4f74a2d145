/**
 * Stream configuration XML (Gadgetron v1 `gadgetronStreamConfiguration` and v2 `configuration`)
 * parsed once into a typed tree of tagged node kinds, each carrying the line and column of its
 * element. Class names and property values are not checked here: the engine's registry does that.
 */
import { XmlSyntaxError, parseXml, textContent, type XmlElement } from '../util/xml.js';
import { ConfigError, configErrorPrefix, type ConfigErrorCode } from './errors.js';
import { SourcePositions } from './source-positions.js';
import { resolvePropertyReferences } from './property-references.js';

/** Largest configuration accepted, in UTF-16 code units (4 MiB). */
export const MAX_CONFIG_LENGTH = 4 * 1024 * 1024;
/** Deepest XML element nesting accepted in a configuration. */
export const MAX_CONFIG_XML_DEPTH = 64;
/** Most XML elements accepted in a configuration. */
export const MAX_CONFIG_ELEMENTS = 100_000;
/** Deepest nesting of streams inside composite nodes (parallel, distributed, …). */
export const MAX_STREAM_DEPTH = 16;

/** A 1-based position of an element's start tag in the configuration text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One gadget property: a name and its string value, references already resolved. */
export interface PropertySpec extends SourcePosition {
  name: string;
  value: string;
}

/** A loadable class with properties: a gadget, a parallel branch or merge, or a distributor. */
export interface ComponentSpec extends SourcePosition {
  /** Display name; defaults to the class name. */
  name: string;
  /** Gadgetron library name (kept for compatibility; Gantry resolves by class name). */
  dll: string;
  classname: string;
  properties: PropertySpec[];
}

/** A reader turns messages of one id (slot) into typed input. */
export interface ReaderSpec extends SourcePosition {
  dll: string;
  classname: string;
  /** Explicit message id; absent means the reader's own default slot. */
  slot?: number;
}

/** A writer serializes output messages of the types it accepts. */
export interface WriterSpec extends SourcePosition {
  dll: string;
  classname: string;
}

/** A linear chain of nodes; `key` names it (parallel streams, error locations). */
export interface StreamSpec extends SourcePosition {
  key?: string;
  nodes: NodeSpec[];
}

/** A single gadget in a stream. */
export interface GadgetSpec extends ComponentSpec {
  type: 'gadget';
}

/** A branch fans messages out to keyed streams whose outputs a merge combines. */
export interface ParallelSpec extends SourcePosition {
  type: 'parallel';
  branch: ComponentSpec;
  merge: ComponentSpec;
  /** At least one; keys are unique. An empty stream wires its input straight to the merge. */
  streams: StreamSpec[];
}

/** A distributor sends messages to remote workers that run the inner stream. */
export interface DistributedSpec extends SourcePosition {
  type: 'distributed';
  readers: ReaderSpec[];
  writers: WriterSpec[];
  distributor: ComponentSpec;
  stream: StreamSpec;
}

/** Each message is sent to the least-loaded remote worker running the pure stream. */
export interface PureDistributedSpec extends SourcePosition {
  type: 'puredistributed';
  readers: ReaderSpec[];
  writers: WriterSpec[];
  /** The `<purestream>` (gadgets only; no key). */
  stream: StreamSpec;
}

/** The pure stream runs on a local pool of `workers` (0 = one per CPU), keeping input order. */
export interface ParallelProcessSpec extends SourcePosition {
  type: 'parallelprocess';
  workers: number;
  /** The `<purestream>` (gadgets only; no key). */
  stream: StreamSpec;
}

/** Languages an external `execute` action can start. */
export type ExternalLanguage = 'python' | 'matlab' | 'julia';

/** How an external node reaches its peer: start a module, or connect to a listening one. */
export type ExternalAction =
  | { kind: 'execute'; name: string; target?: string; language: ExternalLanguage }
  | { kind: 'connect'; address: string; port: number };

/** Messages are exchanged with an external process over the Gadgetron protocol. */
export interface ExternalSpec extends SourcePosition {
  type: 'external';
  action: ExternalAction;
  /** Empty means the engine's default set. */
  readers: ReaderSpec[];
  /** Empty means the engine's default set. */
  writers: WriterSpec[];
  /** Arbitrary XML forwarded to the external process. */
  configuration?: XmlElement;
}

/** Any node of a stream. */
export type NodeSpec = GadgetSpec | ParallelSpec | DistributedSpec | PureDistributedSpec | ParallelProcessSpec | ExternalSpec;

/** A whole stream configuration. */
export interface StreamConfiguration {
  /** Which XML dialect it was written in. */
  format: 'v1' | 'v2';
  readers: ReaderSpec[];
  writers: WriterSpec[];
  /** The top-level stream; key "main" for v1 configurations. */
  stream: StreamSpec;
}

/** Options for {@link parseStreamConfiguration}. */
export interface ParseConfigOptions {
  /** Config name or path, used in error messages. */
  source?: string;
}

const LANGUAGES: readonly ExternalLanguage[] = ['python', 'matlab', 'julia'];

/**
 * Parses a v1 or v2 stream configuration into a typed tree.
 * Throws {@link ConfigError} naming the offending element and its line.
 */
export function parseStreamConfiguration(xml: string, options: ParseConfigOptions = {}): StreamConfiguration {
  if (typeof xml !== 'string') throw new TypeError('Cannot load config: the configuration must be a string');
  const parser = new ConfigParser(xml, options.source);
  if (xml.length > MAX_CONFIG_LENGTH) {
    throw parser.error('CONFIG_LIMIT', `the text is ${xml.length} characters long; the limit is ${MAX_CONFIG_LENGTH}`);
  }
  let root: XmlElement;
  try {
    root = parseXml(xml, { maxLength: MAX_CONFIG_LENGTH, maxDepth: MAX_CONFIG_XML_DEPTH, maxElements: MAX_CONFIG_ELEMENTS });
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw parser.syntaxError(err);
    throw err;
  }
  let config: StreamConfiguration;
  if (root.name === 'gadgetronStreamConfiguration') {
    config = parser.v1(root);
  } else if (root.name === 'configuration' && parser.versionOf(root) === '2') {
    config = parser.v2(root);
  } else {
    const version = root.name === 'configuration' ? parser.versionOf(root) : undefined;
    const detail = root.name !== 'configuration' ? ''
      : version === undefined ? ' has no <version>' : ` has version '${version.slice(0, 40)}', not 2`;
    throw parser.error('CONFIG_FORMAT', `no parser accepted the document (root <${root.name}> at line ${parser.at(root).line}${detail})`, root);
  }
  resolvePropertyReferences(config, options.source);
  if (config.format === 'v1') config.stream.nodes = config.stream.nodes.map((node) => pythonGadgetToExternal(node, parser));
  return config;
}

const PROPERTY_CHILDREN = ['name', 'value'];
const COMPONENT_CHILDREN = ['name', 'dll', 'classname', 'property'];
const READER_CHILDREN = ['slot', 'dll', 'classname'];

/** One parse: the source text (for positions and messages) and the current stream depth. */
class ConfigParser {
  private readonly positions: SourcePositions;
  private depth = 0;
  private format: 'v1' | 'v2' = 'v2';

  constructor(text: string, private readonly source: string | undefined) {
    this.positions = new SourcePositions(text);
  }

  /** Where `element`'s start tag begins. */
  at(element: XmlElement): SourcePosition {
    return this.positions.startOf(element);
  }

  /** `<name> at line N`. */
  label(element: XmlElement): string {
    return `<${element.name}> at line ${this.at(element).line}`;
  }

  error(code: ConfigErrorCode, message: string, where?: XmlElement | SourcePosition): ConfigError {
    const position = where === undefined ? undefined
      : 'type' in where ? this.at(where) : { line: where.line, column: where.column };
    return new ConfigError(code, `${configErrorPrefix(this.source)}: ${message}`, { ...position, source: this.source });
  }

  syntaxError(err: XmlSyntaxError): ConfigError {
    const detail = err.message
      .replace(/^Malformed XML:\s*/, '')
      .replace(/^\d+:\d+:\s*/, '')
      .replace(/\s*\(line \d+\)$/, '')
      .replace(/\.$/, '');
    const where = err.line === undefined ? '' : ` at line ${err.line}, column ${err.column ?? 0}`;
    const code: ConfigErrorCode = /nesting deeper|more than \d+ elements|the limit is/.test(err.message) ? 'CONFIG_LIMIT' : 'CONFIG_SYNTAX';
    return new ConfigError(code, `${configErrorPrefix(this.source)}: invalid XML${where}: ${detail}`, {
      line: err.line, column: err.column, source: this.source, cause: err,
    });
  }

  /** The trimmed text of `<version>` under a `<configuration>` root, if there is one. */
  versionOf(root: XmlElement): string | undefined {
    for (const child of root.children) {
      if (child.type === 'element' && child.name === 'version') return textContent(child).trim();
    }
    return undefined;
  }

  v1(root: XmlElement): StreamConfiguration {
    this.format = 'v1';
    this.checkAttributes(root, []);
    const children = this.children(root, ['reader', 'writer', 'gadget']);
    return {
      format: 'v1',
      readers: children.filter((c) => c.name === 'reader').map((c) => this.reader(c)),
      writers: children.filter((c) => c.name === 'writer').map((c) => this.writer(c)),
      stream: {
        key: 'main',
        nodes: children.filter((c) => c.name === 'gadget').map((c) => this.gadget(c)),
        ...this.at(root),
      },
    };
  }

  v2(root: XmlElement): StreamConfiguration {
    this.format = 'v2';
    this.checkAttributes(root, []);
    this.children(root, ['version', 'readers', 'writers', 'stream']);
    this.single(root, 'version', true);
    const stream = this.single(root, 'stream', true);
    return {
      format: 'v2',
      readers: this.readers(this.single(root, 'readers', false)),
      writers: this.writers(this.single(root, 'writers', false)),
      stream: this.stream(stream, false),
    };
  }

  private readers(list: XmlElement | undefined): ReaderSpec[] {
    if (!list) return [];
    this.checkAttributes(list, []);
    return this.children(list, ['reader']).map((c) => this.reader(c));
  }

  private writers(list: XmlElement | undefined): WriterSpec[] {
    if (!list) return [];
    this.checkAttributes(list, []);
    return this.children(list, ['writer']).map((c) => this.writer(c));
  }

  private reader(element: XmlElement): ReaderSpec {
    this.checkAttributes(element, []);
    this.children(element, READER_CHILDREN);
    const spec: ReaderSpec = { dll: this.requiredText(element, 'dll'), classname: this.requiredText(element, 'classname'), ...this.at(element) };
    const slot = this.single(element, 'slot', false);
    if (slot) spec.slot = this.integer(slot, this.simpleText(slot).trim(), 0, 0xffff);
    return spec;
  }

  /** Writers are chosen by message type; a `<slot>` (common in v1 files) is accepted and ignored. */
  private writer(element: XmlElement): WriterSpec {
    this.checkAttributes(element, []);
    this.children(element, READER_CHILDREN);
    const slot = this.single(element, 'slot', false);
    if (slot) this.simpleText(slot);
    return { dll: this.requiredText(element, 'dll'), classname: this.requiredText(element, 'classname'), ...this.at(element) };
  }

  private stream(element: XmlElement, keyRequired: boolean): StreamSpec {
    this.checkAttributes(element, ['key']);
    const key = element.attributes['key'];
    if (keyRequired && (key === undefined || key.trim() === '')) {
      throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has no key attribute`, element);
    }
    const spec: StreamSpec = { nodes: this.nodes(element, ['gadget', 'parallel', 'distributed', 'puredistributed', 'parallelprocess', 'external']), ...this.at(element) };
    return key === undefined ? spec : { key, ...spec };
  }

  private pureStream(element: XmlElement): StreamSpec {
    this.checkAttributes(element, []);
    return { nodes: this.nodes(element, ['gadget']), ...this.at(element) };
  }

  private nodes(container: XmlElement, allowed: string[]): NodeSpec[] {
    this.depth += 1;
    if (this.depth > MAX_STREAM_DEPTH) {
      throw this.error('CONFIG_LIMIT', `${this.label(container)} nests streams deeper than ${MAX_STREAM_DEPTH} levels`, container);
    }
    const nodes = this.children(container, allowed).map((c) => this.node(c));
    this.depth -= 1;
    return nodes;
  }

  private node(element: XmlElement): NodeSpec {
    switch (element.name) {
      case 'gadget': return this.gadget(element);
      case 'parallel': return this.parallel(element);
      case 'distributed': return this.distributed(element);
      case 'puredistributed': return this.pureDistributed(element);
      case 'parallelprocess': return this.parallelProcess(element);
      default: return this.external(element);
    }
  }

  private gadget(element: XmlElement): GadgetSpec {
    return { type: 'gadget', ...this.component(element) };
  }

  private component(element: XmlElement): ComponentSpec {
    this.checkAttributes(element, []);
    const children = this.children(element, COMPONENT_CHILDREN);
    const dll = this.requiredText(element, 'dll');
    const classname = this.requiredText(element, 'classname');
    const nameElement = this.single(element, 'name', false);
    const name = nameElement ? this.simpleText(nameElement).trim() : '';
    const properties: PropertySpec[] = [];
    const seen = new Map<string, PropertySpec>();
    for (const child of children) {
      if (child.name !== 'property') continue;
      const property = this.property(child);
      const earlier = seen.get(property.name);
      if (earlier) {
        throw this.error('CONFIG_STRUCTURE',
          `${this.label(child)} sets property '${property.name}' of ${this.label(element)} again (first set at line ${earlier.line})`, child);
      }
      seen.set(property.name, property);
      properties.push(property);
    }
    return { name: name === '' ? classname : name, dll, classname, properties, ...this.at(element) };
  }

  private property(element: XmlElement): PropertySpec {
    const hasAttributes = 'name' in element.attributes || 'value' in element.attributes;
    const hasElements = element.children.some((c) => c.type === 'element' && (c.name === 'name' || c.name === 'value'));
    if (this.format === 'v1') {
      if (hasAttributes) {
        throw this.error('CONFIG_STRUCTURE',
          `${this.label(element)} uses name/value attributes, which only version 2 configurations accept; use <name> and <value> elements`, element);
      }
    } else {
      if (hasAttributes && hasElements) {
        throw this.error('CONFIG_STRUCTURE', `Ambiguous property: ${this.label(element)} has both name/value attributes and <name>/<value> elements`, element);
      }
      if (!hasAttributes && !hasElements) {
        throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has neither name/value attributes nor <name>/<value> elements`, element);
      }
    }
    let name: string;
    let value: string;
    if (hasAttributes) {
      this.checkAttributes(element, ['name', 'value']);
      this.children(element, []);
      const rawName = element.attributes['name'];
      const rawValue = element.attributes['value'];
      if (rawName === undefined) throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has no name attribute`, element);
      if (rawValue === undefined) throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has no value attribute`, element);
      name = rawName.trim();
      value = rawValue;
    } else {
      this.checkAttributes(element, []);
      this.children(element, PROPERTY_CHILDREN);
      name = this.requiredText(element, 'name');
      const valueElement = this.single(element, 'value', true);
      value = this.simpleText(valueElement);
    }
    if (name === '') throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has an empty name`, element);
    return { name, value, ...this.at(element) };
  }

  private parallel(element: XmlElement): ParallelSpec {
    this.checkAttributes(element, []);
    const children = this.children(element, ['branch', 'merge', 'stream']);
    const branch = this.component(this.single(element, 'branch', true));
    const merge = this.component(this.single(element, 'merge', true));
    const streamElements = children.filter((c) => c.name === 'stream');
    if (streamElements.length === 0) throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has no <stream>`, element);
    const keys = new Map<string, XmlElement>();
    const streams = streamElements.map((s) => {
      const stream = this.stream(s, true);
      const key = stream.key ?? '';
      const earlier = keys.get(key);
      if (earlier) {
        throw this.error('CONFIG_STRUCTURE',
          `${this.label(s)} in ${this.label(element)} repeats the stream key '${key}' (first used at line ${this.at(earlier).line})`, s);
      }
      keys.set(key, s);
      return stream;
    });
    return { type: 'parallel', branch, merge, streams, ...this.at(element) };
  }

  private distributed(element: XmlElement): DistributedSpec {
    this.checkAttributes(element, []);
    this.children(element, ['readers', 'writers', 'distributor', 'stream']);
    return {
      type: 'distributed',
      readers: this.readers(this.single(element, 'readers', false)),
      writers: this.writers(this.single(element, 'writers', false)),
      distributor: this.component(this.single(element, 'distributor', true)),
      stream: this.stream(this.single(element, 'stream', true), false),
      ...this.at(element),
    };
  }

  private pureDistributed(element: XmlElement): PureDistributedSpec {
    this.checkAttributes(element, []);
    this.children(element, ['readers', 'writers', 'purestream']);
    return {
      type: 'puredistributed',
      readers: this.readers(this.single(element, 'readers', false)),
      writers: this.writers(this.single(element, 'writers', false)),
      stream: this.pureStream(this.single(element, 'purestream', true)),
      ...this.at(element),
    };
  }

  private parallelProcess(element: XmlElement): ParallelProcessSpec {
    this.checkAttributes(element, ['workers']);
    this.children(element, ['purestream']);
    const workers = element.attributes['workers'];
    if (workers === undefined) throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has no workers attribute`, element);
    return {
      type: 'parallelprocess',
      workers: this.integer(element, workers.trim(), 0, 4096, 'workers'),
      stream: this.pureStream(this.single(element, 'purestream', true)),
      ...this.at(element),
    };
  }

  private external(element: XmlElement): ExternalSpec {
    this.checkAttributes(element, []);
    this.children(element, ['execute', 'connect', 'readers', 'writers', 'configuration']);
    const execute = this.single(element, 'execute', false);
    const connect = this.single(element, 'connect', false);
    if (execute && connect) {
      throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has both <execute> and <connect>; it needs exactly one`, element);
    }
    let action: ExternalAction;
    if (execute) {
      this.checkAttributes(execute, ['name', 'type', 'target']);
      this.children(execute, []);
      const name = execute.attributes['name']?.trim() ?? '';
      if (name === '') throw this.error('CONFIG_STRUCTURE', `${this.label(execute)} has no name attribute`, execute);
      const language = execute.attributes['type']?.trim() ?? '';
      if (!(LANGUAGES as readonly string[]).includes(language)) {
        throw this.error('CONFIG_STRUCTURE',
          `${this.label(execute)} has type '${language.slice(0, 40)}'; expected one of ${LANGUAGES.join(', ')}`, execute);
      }
      const target = execute.attributes['target'];
      action = { kind: 'execute', name, language: language as ExternalLanguage };
      if (target !== undefined) action.target = target;
    } else if (connect) {
      this.checkAttributes(connect, ['address', 'port']);
      this.children(connect, []);
      const port = connect.attributes['port'];
      if (port === undefined) throw this.error('CONFIG_STRUCTURE', `${this.label(connect)} has no port attribute`, connect);
      const address = connect.attributes['address']?.trim() || 'localhost';
      action = { kind: 'connect', address, port: this.integer(connect, port.trim(), 1, 0xffff, 'port') };
    } else {
      throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has neither <execute> nor <connect>`, element);
    }
    const spec: ExternalSpec = {
      type: 'external',
      action,
      readers: this.readers(this.single(element, 'readers', false)),
      writers: this.writers(this.single(element, 'writers', false)),
      ...this.at(element),
    };
    const configuration = this.single(element, 'configuration', false);
    if (configuration) spec.configuration = configuration;
    return spec;
  }

  /** The child elements of `element`; text other than whitespace and unlisted elements are errors. */
  private children(element: XmlElement, allowed: readonly string[]): XmlElement[] {
    const out: XmlElement[] = [];
    for (const child of element.children) {
      if (child.type === 'text') {
        if (child.text.trim() !== '') {
          const snippet = child.text.trim().slice(0, 40);
          throw this.error('CONFIG_STRUCTURE', `unexpected text '${snippet}' in ${this.label(element)}`, element);
        }
        continue;
      }
      if (!allowed.includes(child.name)) {
        throw this.error('CONFIG_STRUCTURE', `unknown element <${child.name}> at line ${this.at(child).line} in <${element.name}>`, child);
      }
      out.push(child);
    }
    return out;
  }

  /** Refuses attributes other than `allowed` (namespace declarations, xsi:* and xml:* are always allowed). */
  private checkAttributes(element: XmlElement, allowed: readonly string[]): void {
    for (const key of Object.keys(element.attributes)) {
      if (allowed.includes(key) || key === 'xmlns' || key.startsWith('xmlns:') || key.startsWith('xsi:') || key.startsWith('xml:')) continue;
      throw this.error('CONFIG_STRUCTURE', `unknown attribute '${key}' on ${this.label(element)}`, element);
    }
  }

  /** The only child named `name`; more than one is an error, and so is none when required. */
  private single(element: XmlElement, name: string, required: true): XmlElement;
  private single(element: XmlElement, name: string, required: boolean): XmlElement | undefined;
  private single(element: XmlElement, name: string, required: boolean): XmlElement | undefined {
    let found: XmlElement | undefined;
    for (const child of element.children) {
      if (child.type !== 'element' || child.name !== name) continue;
      if (found) {
        throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has more than one <${name}> (line ${this.at(child).line})`, child);
      }
      found = child;
    }
    if (!found && required) throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has no <${name}>`, element);
    return found;
  }

  /** The text of an element that may hold only text. */
  private simpleText(element: XmlElement): string {
    this.checkAttributes(element, []);
    const nested = element.children.find((c): c is XmlElement => c.type === 'element');
    if (nested) throw this.error('CONFIG_STRUCTURE', `${this.label(element)} may contain only text, not <${nested.name}>`, nested);
    return textContent(element);
  }

  /** The trimmed, non-empty text of the required child `name`. */
  private requiredText(element: XmlElement, name: string): string {
    const child = this.single(element, name, true);
    const value = this.simpleText(child).trim();
    if (value === '') throw this.error('CONFIG_STRUCTURE', `${this.label(element)} has an empty <${name}>`, child);
    return value;
  }

  private integer(element: XmlElement, text: string, min: number, max: number, what = `<${element.name}>`): number {
    const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max)) {
      throw this.error('CONFIG_STRUCTURE',
        `${what} of ${this.label(element)} is '${text.slice(0, 40)}'; expected an integer from ${min} to ${max}`, element);
    }
    return value;
  }
}

/**
 * Gadgetron rewrites a v1 `PythonGadget` (dll gadgetron_python) into an external Python node:
 * `python_module`/`python_class` become the module and target, and every property is forwarded.
 */
function pythonGadgetToExternal(node: NodeSpec, parser: ConfigParser): NodeSpec {
  if (node.type !== 'gadget' || node.dll !== 'gadgetron_python' || node.classname !== 'PythonGadget') return node;
  const property = (name: string): string | undefined => node.properties.find((p) => p.name === name)?.value;
  const module = property('python_module');
  if (module === undefined || module.trim() === '') {
    throw parser.error('CONFIG_STRUCTURE', `PythonGadget <gadget> at line ${node.line} has no python_module property`,
      { line: node.line, column: node.column });
  }
  const action: ExternalAction = { kind: 'execute', name: module.trim(), language: 'python' };
  const target = property('python_class');
  if (target !== undefined) action.target = target;
  const configuration: XmlElement = {
    type: 'element', name: 'configuration', attributes: {}, line: node.line, column: node.column,
    children: node.properties.map((p) => ({
      type: 'element', name: 'property', attributes: { name: p.name, value: p.value }, children: [], line: p.line, column: p.column,
    })),
  };
  return { type: 'external', action, readers: [], writers: [], configuration, line: node.line, column: node.column };
}
