/**
 * How the benchmarks start Gantry: this Node binary with the flags and the
 * environment of `bin/gantry`'s shebang (`#!/usr/bin/env -S [NAME=value …]
 * node FLAGS`), so that a timed process runs as the `gantry` command does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What an env shebang runs node with: its variable assignments and its node flags. */
export interface ShebangCommand {
  readonly env: Readonly<Record<string, string>>;
  readonly flags: readonly string[];
}

/** Reads a `#!/usr/bin/env [-S] [NAME=value …] node [FLAGS]` first line; throws on any other. */
export function shebangCommand(firstLine: string): ShebangCommand {
  const m = /^#!\/usr\/bin\/env(?:\s+-S)?((?:\s+[A-Z_][A-Z0-9_]*=[\w.:/-]*)*)\s+node((?:\s+--?[\w-]+(?:=\S+)?)*)\s*$/.exec(firstLine);
  if (!m) throw new Error(`Cannot read the node command of the shebang '${firstLine}'`);
  const env: Record<string, string> = {};
  for (const assignment of (m[1] ?? '').split(/\s+/).filter((a) => a !== '')) {
    const at = assignment.indexOf('=');
    env[assignment.slice(0, at)] = assignment.slice(at + 1);
  }
  return { env, flags: (m[2] ?? '').split(/\s+/).filter((f) => f !== '') };
}

/** The node flags of such a shebang. */
export function shebangNodeFlags(firstLine: string): string[] {
  return [...shebangCommand(firstLine).flags];
}

function binShebang(root: string): { bin: string; command: ShebangCommand } {
  const bin = join(root, 'bin/gantry');
  const firstLine = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  return { bin, command: shebangCommand(firstLine) };
}

/** Arguments after the Node binary that run `bin/gantry` under `root` as its shebang does. */
export function gantryArgv(root: string): string[] {
  const { bin, command } = binShebang(root);
  return [...command.flags, bin];
}

/** The environment to run {@link gantryArgv} in: `base` with the shebang's assignments. */
export function gantryEnv(root: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...binShebang(root).command.env };
}
