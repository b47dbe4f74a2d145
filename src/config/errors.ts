/**
 * The error raised when a stream configuration cannot be found, read or parsed.
 */

/** Stable machine-readable reasons for a {@link ConfigError}. */
export type ConfigErrorCode =
  /** The text is not well-formed XML, or uses refused XML features (DOCTYPE). */
  | 'CONFIG_SYNTAX'
  /** Well-formed XML that neither the v1 nor the v2 parser accepts (wrong root). */
  | 'CONFIG_FORMAT'
  /** A recognised format with missing, unknown, duplicated or ill-formed elements. */
  | 'CONFIG_STRUCTURE'
  /** A `property@gadget` reference that is unresolvable, ambiguous or cyclic. */
  | 'CONFIG_REFERENCE'
  /** The configuration exceeds a size or nesting limit. */
  | 'CONFIG_LIMIT'
  /** A requested config name that is not a plain file name. */
  | 'CONFIG_NAME'
  /** No config file of that name in any config folder. */
  | 'CONFIG_NOT_FOUND'
  /** The config file resolves (through a symbolic link) outside its config folder. */
  | 'CONFIG_ACCESS'
  /** The config file exists but could not be read. */
  | 'CONFIG_IO';

/** Options for {@link ConfigError}. */
export interface ConfigErrorOptions {
  /** 1-based line of the offending element, when known. */
  line?: number;
  /** 1-based column of the offending element, when known. */
  column?: number;
  /** The config name or path the text came from, when known. */
  source?: string;
  /** The underlying error. */
  cause?: unknown;
}

/** A configuration that cannot be loaded; `line`/`column` point at the offending element. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Why loading failed. */
  readonly code: ConfigErrorCode;
  /** 1-based line of the offending element, when known. */
  readonly line: number | undefined;
  /** 1-based column of the offending element, when known. */
  readonly column: number | undefined;
  /** The config name or path the text came from, when known. */
  readonly source: string | undefined;

  constructor(code: ConfigErrorCode, message: string, options: ConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.line = options.line;
    this.column = options.column;
    this.source = options.source;
  }
}

/**
 * Renders a config name for an error message: control characters escaped, at most 120 characters,
 * so that a hostile name cannot forge log lines.
 */
export function displayConfigName(name: string): string {
  const clipped = name.length > 120 ? `${name.slice(0, 120)}…` : name;
  // eslint-disable-next-line no-control-regex
  return clipped.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The "Cannot load config…" prefix, naming the source when there is one. */
export function configErrorPrefix(source: string | undefined): string {
  return source === undefined ? 'Cannot load config' : `Cannot load config '${displayConfigName(source)}'`;
}
