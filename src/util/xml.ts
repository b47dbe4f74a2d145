/**
 * A small, safe XML document model built on the saxes streaming parser.
 *
 * Used for ISMRMRD headers, image meta attributes and stream configurations.
 * Every element remembers its line and column so that errors can point at it.
 * Document type declarations are refused outright: no DTD, no external or
 * custom entities, so entity-expansion ("billion laughs") and XXE attacks have
 * nothing to work with.
 */
import { SaxesParser } from 'saxes';

/** An XML element with its position in the source (1-based line and column). */
export interface XmlElement {
  readonly type: 'element';
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  line: number;
  column: number;
}

/** Character data inside an element. */
export interface XmlText {
  readonly type: 'text';
  text: string;
}

/** Any node of the document tree that Gantry keeps (comments and PIs are dropped). */
export type XmlNode = XmlElement | XmlText;

/** Limits applied while parsing untrusted XML. */
export interface XmlLimits {
  /** Maximum text length in UTF-16 code units (default 16 MiB). */
  maxLength?: number;
  /** Maximum element nesting depth (default 64). */
  maxDepth?: number;
  /** Maximum number of elements (default 1,000,000). */
  maxElements?: number;
}

/** A malformed or refused XML document; `line`/`column` are 1-based when known. */
export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
  readonly code = 'XML_SYNTAX';
  constructor(message: string, readonly line?: number, readonly column?: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Parses a complete XML document and returns its root element. */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  const maxLength = limits.maxLength ?? 16 * 1024 * 1024;
  const maxDepth = limits.maxDepth ?? 64;
  const maxElements = limits.maxElements ?? 1_000_000;
  if (text.length > maxLength) {
    throw new XmlSyntaxError(`Cannot parse XML of ${text.length} characters: the limit is ${maxLength}`);
  }
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let failure: XmlSyntaxError | undefined;
  const fail = (message: string): void => {
    if (!failure) failure = new XmlSyntaxError(message, parser.line, parser.column + 1);
  };
  parser.on('doctype', () => fail(`XML document type declarations are not allowed (line ${parser.line})`));
  parser.on('error', (err: Error) => {
    if (!failure) {
      const message = err.message.replace(/^undefined:/, '').trim();
      failure = new XmlSyntaxError(`Malformed XML: ${message}`, parser.line, parser.column + 1);
    }
  });
  parser.on('opentag', (tag) => {
    if (failure) return;
    count += 1;
    if (count > maxElements) return fail(`XML has more than ${maxElements} elements`);
    if (stack.length >= maxDepth) return fail(`XML nesting deeper than ${maxDepth} levels`);
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(tag.attributes)) attributes[key] = String(value);
    const element: XmlElement = {
      type: 'element', name: tag.name, attributes, children: [], line: parser.line, column: parser.column + 1,
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    if (!tag.isSelfClosing) stack.push(element);
  });
  parser.on('closetag', (tag) => {
    if (failure) return;
    if (!tag.isSelfClosing) stack.pop();
  });
  const onText = (text: string): void => {
    if (failure) return;
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push({ type: 'text', text });
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  try {
    parser.write(text).close();
  } catch (err) {
    if (!failure) {
      const message = err instanceof Error ? err.message : String(err);
      failure = new XmlSyntaxError(`Malformed XML: ${message.replace(/^undefined:/, '').trim()}`, parser.line, parser.column + 1);
    }
  }
  if (failure) throw failure;
  if (!root) throw new XmlSyntaxError('Malformed XML: the document has no root element', 1, 1);
  return root;
}

/** The child elements of `element`, optionally only those named `name`. */
export function childElements(element: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of element.children) {
    if (child.type === 'element' && (name === undefined || child.name === name)) out.push(child);
  }
  return out;
}

/** The first child element named `name`, if any. */
export function childElement(element: XmlElement, name: string): XmlElement | undefined {
  for (const child of element.children) {
    if (child.type === 'element' && child.name === name) return child;
  }
  return undefined;
}

/** The concatenated text content of `element` and its descendants. */
export function textContent(element: XmlElement): string {
  let out = '';
  for (const child of element.children) {
    out += child.type === 'text' ? child.text : textContent(child);
  }
  return out;
}

/** Escapes text for use in element content or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/** Creates an element node (used when building documents to serialize). */
export function element(name: string, children: XmlNode[] = [], attributes: Record<string, string> = {}): XmlElement {
  return { type: 'element', name, attributes, children, line: 0, column: 0 };
}

/** Creates a text node. */
export function text(value: string): XmlText {
  return { type: 'text', text: value };
}

/**
 * Serializes an element tree. Elements whose children are only text are written
 * on one line; others are indented with `indent` per level (pugixml style).
 */
export function serializeXml(root: XmlElement, indent = '\t', declaration = true): string {
  const parts: string[] = [];
  if (declaration) parts.push('<?xml version="1.0"?>\n');
  writeElement(root, 0, indent, parts);
  return parts.join('');
}

function writeElement(el: XmlElement, depth: number, indent: string, out: string[]): void {
  const pad = indent.repeat(depth);
  let open = `<${el.name}`;
  for (const [key, value] of Object.entries(el.attributes)) open += ` ${key}="${escapeXml(value)}"`;
  const elements = el.children.filter((c): c is XmlElement => c.type === 'element');
  if (el.children.length === 0) {
    out.push(`${pad}${open} />\n`);
    return;
  }
  if (elements.length === 0) {
    out.push(`${pad}${open}>${escapeXml(textContent(el))}</${el.name}>\n`);
    return;
  }
  out.push(`${pad}${open}>\n`);
  for (const child of elements) writeElement(child, depth + 1, indent, out);
  out.push(`${pad}</${el.name}>\n`);
}
