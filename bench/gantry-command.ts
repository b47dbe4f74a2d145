/**
 * How the benchmarks start Gantry: this Node binary with the flags of
 * `bin/gantry`'s shebang (`#!/usr/bin/env -S node FLAGS`), so that a timed
 * process runs as the `gantry` command does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The node flags of a `#!/usr/bin/env -S node FLAGS` (or `#!/usr/bin/env node`) first line; throws on any other. */
export function shebangNodeFlags(firstLine: string): string[] {
  const m = /^#!\/usr\/bin\/env(?:\s+-S)?\s+node((?:\s+--?[\w-]+(?:=\S+)?)*)\s*$/.exec(firstLine);
  if (!m) throw new Error(`Cannot read the node flags of the shebang '${firstLine}'`);
  return (m[1] ?? '').split(/\s+/).filter((f) => f !== '');
}

/** Arguments after the Node binary that run `bin/gantry` under `root` as its shebang does. */
export function gantryArgv(root: string): string[] {
  const bin = join(root, 'bin/gantry');
  const firstLine = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  return [...shebangNodeFlags(firstLine), bin];
}
