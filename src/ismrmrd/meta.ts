/**
 * Image meta attributes (`<ismrmrdMeta>`), the XML string that travels after
 * the image header in message 1022. Parsing follows ISMRMRD 1.8's
 * `deserialize(MetaContainer)`; serialization reproduces its bytes exactly
 * (pugixml, tab indent, names in `std::map` order).
 */
import { childElements, parseXml, textContent, XmlSyntaxError } from '../util/xml.js';
import { formatGeneral } from './number-format.js';
import type { MetaContainer } from './types.js';

export type { MetaContainer } from './types.js';

/** A value accepted by {@link metaSet} and {@link metaAppend}. */
export type MetaValue = string | number | (string | number)[];

const PREFIX = 'Cannot parse image meta attributes';

/**
 * Parses an `<ismrmrdMeta>` document. '' (or only NULs/whitespace) gives an
 * empty container. As in ISMRMRD 1.8: repeated names append their values, a
 * `<meta>` without `<value>` adds nothing, a missing `<name>` means ''.
 */
export function parseMeta(xml: string): MetaContainer {
  const source = xml.replace(/\0+$/, '');
  const meta: MetaContainer = new Map();
  if (source.trim() === '') return meta;
  let root;
  try {
    root = parseXml(source);
  } catch (err) {
    if (err instanceof XmlSyntaxError) {
      const where = err.line !== undefined && !/\(line \d+/.test(err.message) ? ` (line ${err.line}, column ${err.column})` : '';
      throw new Error(`${PREFIX}: ${err.message}${where}`, { cause: err });
    }
    throw err;
  }
  if (root.name !== 'ismrmrdMeta') throw new Error(`${PREFIX}: ismrmrdMeta tag not found`);
  for (const entry of childElements(root, 'meta')) {
    const nameElement = childElements(entry, 'name')[0];
    const name = nameElement ? textContent(nameElement) : '';
    for (const value of childElements(entry, 'value')) {
      const list = meta.get(name);
      if (list) list.push(textContent(value));
      else meta.set(name, [textContent(value)]);
    }
  }
  return meta;
}

/** Escapes character data the way pugixml writes it (`&`, `<`, `>`, control characters as `&#NN;`). */
export function escapePcdata(value: string): string {
  return value.replace(/[&<>\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => {
    if (c === '&') return '&amp;';
    if (c === '<') return '&lt;';
    if (c === '>') return '&gt;';
    const code = c.charCodeAt(0);
    return `&#${Math.floor(code / 10)}${code % 10};`;
  });
}

const SURROGATE = /[\ud800-\udfff]/;

/** Orders names as `std::map<std::string>` orders their UTF-8 bytes, i.e. by code point. */
export function compareMetaNames(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) {
    const x = Array.from(a, (c) => c.codePointAt(0)!);
    const y = Array.from(b, (c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Serializes a container exactly as ISMRMRD 1.8 does. An empty container gives
 * `<?xml version="1.0"?>\n<ismrmrdMeta />\n`; senders usually transmit an empty
 * container as a zero-length attribute string instead (see {@link metaIsEmpty}).
 */
export function serializeMeta(meta: MetaContainer): string {
  if (meta.size === 0) return '<?xml version="1.0"?>\n<ismrmrdMeta />\n';
  const parts = ['<?xml version="1.0"?>\n<ismrmrdMeta>\n'];
  for (const name of [...meta.keys()].sort(compareMetaNames)) {
    parts.push(`\t<meta>\n\t\t<name>${escapePcdata(name)}</name>\n`);
    for (const value of meta.get(name) ?? []) parts.push(`\t\t<value>${escapePcdata(value)}</value>\n`);
    parts.push('\t</meta>\n');
  }
  parts.push('</ismrmrdMeta>\n');
  return parts.join('');
}

/** True when the container holds no attributes (send a zero-length attribute string). */
export function metaIsEmpty(meta: MetaContainer | undefined): boolean {
  return meta === undefined || meta.size === 0;
}

/**
 * Formats a number as C++ `stringstream <<` does: with `integer` as a `long`
 * (truncated toward zero), otherwise as a `double` with 6 significant digits
 * (`128.5`, `0.001`, `1e+06`, `3.14159`, `inf`, `nan`).
 */
export function formatMetaNumber(x: number, integer: boolean): string {
  if (!integer) return formatGeneral(x, 6);
  if (!Number.isFinite(x)) throw new RangeError(`Cannot format ${x} as an integer meta value`);
  return BigInt(Math.trunc(x)).toString();
}

/** Safe integers print as `long`, every other number as `double`. */
function metaText(value: string | number): string {
  if (typeof value === 'string') return value;
  return formatMetaNumber(value, Number.isSafeInteger(value));
}

/** The `index`-th value (default the first) of attribute `name`, if present. */
export function metaGet(meta: MetaContainer, name: string, index = 0): string | undefined {
  return meta.get(name)?.[index];
}

/**
 * The `index`-th value of `name` read as a number (like `sscanf("%lf")`: a
 * leading numeric prefix, `inf`/`nan` accepted); undefined when absent or not numeric.
 */
export function metaGetNumber(meta: MetaContainer, name: string, index = 0): number | undefined {
  const text = metaGet(meta, name, index);
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const special = /^([+-]?)(inf(inity)?|nan)/i.exec(trimmed);
  if (special) {
    const sign = special[1] === '-' ? -1 : 1;
    return special[2]!.toLowerCase() === 'nan' ? NaN : sign * Infinity;
  }
  const value = Number.parseFloat(trimmed);
  return Number.isNaN(value) ? undefined : value;
}

/**
 * Sets attribute `name` to `value` (a list sets several values), replacing what
 * was there; an empty list removes the attribute. Numbers are formatted with
 * {@link formatMetaNumber}: safe integers as `long`, others as `double`.
 */
export function metaSet(meta: MetaContainer, name: string, value: MetaValue): MetaContainer {
  const values = (Array.isArray(value) ? value : [value]).map(metaText);
  if (values.length === 0) meta.delete(name);
  else meta.set(name, values);
  return meta;
}

/** Appends `value` (or several values) to attribute `name`, creating it when absent. */
export function metaAppend(meta: MetaContainer, name: string, value: MetaValue): MetaContainer {
  const values = (Array.isArray(value) ? value : [value]).map(metaText);
  if (values.length === 0) return meta;
  const list = meta.get(name);
  if (list) list.push(...values);
  else meta.set(name, values);
  return meta;
}
