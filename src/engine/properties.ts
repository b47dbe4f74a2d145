/**
 * Typed gadget property schemas. Config XML gives every property as a string;
 * a schema turns it into a typed value or reports exactly what is wrong.
 */

/** One property's type, default and description. */
export type PropertyDef =
  | { type: 'boolean'; default: boolean; description?: string }
  | { type: 'number'; default: number; min?: number; max?: number; description?: string }
  | { type: 'integer'; default: number; min?: number; max?: number; description?: string }
  | { type: 'string'; default: string; description?: string }
  | { type: 'enum'; values: readonly string[]; default: string; caseInsensitive?: boolean; description?: string };

/** A gadget's property schema: name → definition. */
export type PropertySchema = Record<string, PropertyDef>;

type ValueOf<D extends PropertyDef> = D extends { type: 'boolean' }
  ? boolean
  : D extends { type: 'number' | 'integer' }
    ? number
    : string;

/** The typed property object a schema produces. */
export type PropertiesOf<S extends PropertySchema> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** Why a property value was refused. */
export class PropertyValueError extends Error {
  override readonly name = 'PropertyValueError';
  constructor(message: string) {
    super(message);
  }
}

/** Parses one property value; throws PropertyValueError with the reason. */
export function parsePropertyValue(def: PropertyDef, raw: string): boolean | number | string {
  const value = raw.trim();
  switch (def.type) {
    case 'boolean': {
      const v = value.toLowerCase();
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw new PropertyValueError(`expected true or false, got '${raw}'`);
    }
    case 'number':
    case 'integer': {
      if (value === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) {
        throw new PropertyValueError(`expected ${def.type === 'integer' ? 'an integer' : 'a number'}, got '${raw}'`);
      }
      const n = Number(value);
      if (def.type === 'integer' && !Number.isInteger(n)) throw new PropertyValueError(`expected an integer, got '${raw}'`);
      if (def.min !== undefined && n < def.min) throw new PropertyValueError(`${n} is below the minimum ${def.min}`);
      if (def.max !== undefined && n > def.max) throw new PropertyValueError(`${n} is above the maximum ${def.max}`);
      return n;
    }
    case 'string':
      return raw;
    case 'enum': {
      const match = def.values.find((v) => (def.caseInsensitive ? v.toLowerCase() === value.toLowerCase() : v === value));
      if (match === undefined) {
        throw new PropertyValueError(`expected one of ${def.values.map((v) => `'${v}'`).join(', ')}, got '${raw}'`);
      }
      return match;
    }
  }
}

/** The schema's defaults as a typed object. */
export function defaultProperties<S extends PropertySchema>(schema: S): PropertiesOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(schema)) out[name] = def.default;
  return out as PropertiesOf<S>;
}
