/**
 * The commands written in docs/deploy.md, docs/operating.md, README.md and the image's
 * default command are real: every `gantry SUB` with flags names a
 * subcommand, and every flag given to it (or to gadgetron_ismrmrd_client, whose flags `gantry
 * client` copies) appears in that subcommand's --help.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runGantry } from '../helpers/gantry-process.js';
import { parseDockerfile, stagesOf } from './dockerfile-lint.js';

const DOCS = ['docs/deploy.md', 'docs/operating.md', 'README.md'];

/** One command found in a document. */
export interface DocCommand {
  source: string;
  sub: string;
  flags: string[];
  text: string;
}

/** Command lines of a Markdown text: fenced blocks (continuation lines joined) and inline code spans. */
export function commandLines(markdown: string): string[] {
  const lines: string[] = [];
  let fenced: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      if (fenced) {
        lines.push(...fenced);
        fenced = undefined;
      } else fenced = [];
      continue;
    }
    if (fenced) {
      const last = fenced.length - 1;
      if (last >= 0 && (/\\\s*$/.test(fenced[last] as string) || /^\s+[[-]/.test(line))) fenced[last] = `${(fenced[last] as string).replace(/\\\s*$/, '')} ${line.trim()}`;
      else fenced.push(line);
      continue;
    }
    for (const m of line.matchAll(/`([^`]+)`/g)) lines.push(m[1] as string);
  }
  return lines;
}

/** The `gantry SUB …` and `gadgetron_ismrmrd_client …` commands of a line, with their flags (shell pipes, `#` comments and `;`/`&&` end a command). */
export function commandsOf(line: string, source: string): DocCommand[] {
  const out: DocCommand[] = [];
  for (const m of line.matchAll(/(?:^|[\s(])(gantry\s+([a-z][a-z-]*)|gadgetron_ismrmrd_client)\b/g)) {
    const sub = m[2] ?? 'client';
    const rest = line.slice((m.index ?? 0) + m[0].length);
    const flags: string[] = [];
    let depth = 0;
    let text = m[1] as string;
    for (const token of rest.split(/\s+/).filter((x) => x !== '')) {
      if (depth === 0 && (token === '|' || token === '#' || token === ';' || token === '&&' || token === '||')) break;
      text += ` ${token}`;
      depth += (token.match(/\[/g) ?? []).length - (token.match(/\]/g) ?? []).length;
      const flag = /^[[(]*(--?[a-zA-Z][a-zA-Z0-9-]*)/.exec(token)?.[1];
      if (flag) flags.push(flag);
    }
    out.push({ source, sub, flags, text });
  }
  return out;
}

/** Flags (short and long) a subcommand's --help lists. */
async function helpFlags(sub: string): Promise<Set<string>> {
  const r = await runGantry([sub, '--help'], 30_000);
  assert.equal(r.code, 0, `gantry ${sub} --help: ${r.stderr}`);
  return new Set([...r.stdout.matchAll(/(?:^|[\s,[])(--?[a-zA-Z][a-zA-Z0-9-]*)/gm)].map((x) => x[1] as string));
}

test('commandsOf finds commands and flags, and stops at pipes and comments', () => {
  const [a] = commandsOf('gantry recon IN OUT -c CONFIG --format h5|dicom|png [--deidentify] [--storage DIR | --storage-url URL]', 'x');
  assert.deepEqual([a?.sub, a?.flags], ['recon', ['-c', '--format', '--deidentify', '--storage', '--storage-url']]);
  const [b] = commandsOf('gantry client -a localhost -p 9002 -o out.h5     # the same | grep -q x', 'x');
  assert.deepEqual(b?.flags, ['-a', '-p', '-o']);
  const [c] = commandsOf('gadgetron_ismrmrd_client -a 127.0.0.1 -p 9002 -f meas.h5 | head -n 3', 'x');
  assert.deepEqual([c?.sub, c?.flags], ['client', ['-a', '-p', '-f']]);
  assert.deepEqual(commandLines('```\ngantry chris [--config x]\n    [--format png] IN OUT\ndocker run \\\n  -p 1:1 img\n```\ntext `gantry serve --port 1` more'), [
    'gantry chris [--config x] [--format png] IN OUT', 'docker run  -p 1:1 img', 'gantry serve --port 1',
  ]);
});

test('the commands in the docs and the image use real subcommands and flags', { timeout: 120_000 }, async () => {
  const commands: DocCommand[] = [];
  for (const doc of DOCS) {
    for (const line of commandLines(readFileSync(join(REPO_ROOT, doc), 'utf8'))) commands.push(...commandsOf(line, doc));
  }
  const runtime = stagesOf(parseDockerfile(readFileSync(join(REPO_ROOT, 'deploy', 'Dockerfile'), 'utf8'))).at(-1);
  const cmd = JSON.parse(runtime?.instructions.filter((i) => i.keyword === 'CMD').pop()?.args ?? '[]') as string[];
  commands.push({ source: 'deploy/Dockerfile CMD', sub: cmd[0] as string, flags: cmd.filter((x) => x.startsWith('-')), text: cmd.join(' ') });
  assert.ok(commands.filter((c) => c.source === 'docs/deploy.md').length >= 10, `commands found in docs/deploy.md: ${commands.length}`);

  const top = await runGantry(['--help'], 30_000);
  const subs = new Set([...top.stdout.matchAll(/^\s{2}([a-z][a-z-]*)\b/gm)].map((x) => x[1] as string));
  assert.ok(subs.has('serve') && subs.has('chris'), top.stdout);
  const help = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const c of commands) {
    if (!subs.has(c.sub)) {
      // prose such as the log message `gantry http listening`; a command with flags must name a real subcommand
      if (c.flags.length > 0) problems.push(`${c.source}: "${c.text}": gantry has no command ${c.sub}`);
      continue;
    }
    if (!help.has(c.sub)) help.set(c.sub, await helpFlags(c.sub));
    for (const f of c.flags) if (!help.get(c.sub)?.has(f)) problems.push(`${c.source}: "${c.text}": gantry ${c.sub} has no flag ${f}`);
  }
  assert.deepEqual(problems, []);
});
