/**
 * A Dockerfile checker with hadolint's rule numbers (the rules that apply to
 * Gantry's image; hadolint itself is neither a Debian nor an npm package),
 * plus the image rules of the deployment: multi-stage, non-root numeric
 * USER, exec-form ENTRYPOINT with node as PID 1, no build tools or -dev
 * packages in the runtime stage. `# hadolint ignore=DLxxxx` on the line
 * before an instruction silences those rules for it, as in hadolint.
 */

/** One instruction, continuation lines joined. */
export interface Instruction {
  line: number;
  keyword: string;
  args: string;
  /** Rules silenced for this instruction. */
  ignore: Set<string>;
}

/** A finding. */
export interface Finding {
  rule: string;
  line: number;
  message: string;
}

/** A build stage. */
export interface Stage {
  from: Instruction;
  image: string;
  alias: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let pendingIgnore = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = /^#\s*hadolint\s+ignore=([A-Z0-9,\s]+)$/.exec(trimmed);
      if (m) for (const r of (m[1] as string).split(',')) pendingIgnore.add(r.trim());
      continue;
    }
    const start = i;
    let joined = trimmed;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      i += 1;
      const next = (lines[i] as string).trim();
      if (next.startsWith('#')) continue;
      joined = `${joined.slice(0, -1).trimEnd()} ${next}`;
    }
    const m = /^(\S+)\s*(.*)$/.exec(joined) as RegExpExecArray;
    out.push({ line: start + 1, keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), ignore: pendingIgnore });
    pendingIgnore = new Set<string>();
  }
  return out;
}

/** The stages of a parsed Dockerfile, with ARG values known before the first FROM substituted in images. */
export function stagesOf(instructions: Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      const image = (m?.[1] ?? ins.args).replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs.get(name) ?? `$${name}`);
      stages.push({ from: ins, image, alias: m?.[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const [name, value] = ins.args.split('=');
        if (name && value !== undefined) globalArgs.set(name.trim(), value.trim().replace(/^"|"$/g, ''));
      }
    } else {
      (stages[stages.length - 1] as Stage).instructions.push(ins);
    }
  }
  return stages;
}

/** True when the JSON array form is used (`["a", "b"]`). */
function isExecForm(args: string): boolean {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
}

/** Packages named by `apt-get install` commands in a RUN. */
export function aptPackages(run: string): string[] {
  const out: string[] = [];
  for (const cmd of run.split(/&&|;|\|\|/)) {
    const words = cmd.trim().split(/\s+/);
    const i = words.indexOf('install');
    if (words[0] !== 'apt-get' || i < 0) continue;
    for (const w of words.slice(i + 1)) if (!w.startsWith('-')) out.push(w);
  }
  return out;
}

/** Runs the rules over a Dockerfile's text. */
export function lintDockerfile(text: string): Finding[] {
  const instructions = parseDockerfile(text);
  const stages = stagesOf(instructions);
  const findings: Finding[] = [];
  const add = (rule: string, ins: Instruction, message: string): void => {
    if (!ins.ignore.has(rule)) findings.push({ rule, line: ins.line, message });
  };
  const aliases = new Set<string>();
  let shellHasPipefail = false;
  stages.forEach((stage, index) => {
    const image = stage.image;
    const name = image.split('@')[0] as string;
    if (image !== 'scratch' && !image.includes('@') && !/:[^/]+$/.test(name) && !aliases.has(name)) add('DL3006', stage.from, `Always tag the version of an image explicitly (${image})`);
    if (/:latest$/.test(name)) add('DL3007', stage.from, 'Using latest is prone to errors; pin the version');
    if (stage.alias) {
      if (aliases.has(stage.alias)) add('DL3024', stage.from, `FROM aliases must be unique (${stage.alias})`);
      aliases.add(stage.alias);
    }
    let workdir = false;
    shellHasPipefail = false;
    for (const ins of stage.instructions) {
      switch (ins.keyword) {
        case 'MAINTAINER':
          add('DL4000', ins, 'MAINTAINER is deprecated');
          break;
        case 'ADD':
          add('DL3020', ins, 'Use COPY instead of ADD for files and folders');
          break;
        case 'WORKDIR':
          workdir = true;
          if (!ins.args.startsWith('/') && !ins.args.startsWith('$')) add('DL3000', ins, 'Use absolute WORKDIR');
          break;
        case 'SHELL':
          shellHasPipefail = /pipefail/.test(ins.args);
          break;
        case 'COPY': {
          const from = /--from=(\S+)/.exec(ins.args)?.[1];
          if (from !== undefined && !aliases.has(from) && !/^\d+$/.test(from)) add('DL3022', ins, `COPY --from should reference a previously defined FROM alias (${from})`);
          if (from !== undefined && from === stage.alias) add('DL3023', ins, 'COPY --from cannot reference its own FROM alias');
          const parts = ins.args.replace(/--\S+/g, '').trim().split(/\s+/);
          const dest = parts[parts.length - 1] as string;
          if (!workdir && !dest.startsWith('/') && !dest.startsWith('$')) add('DL3045', ins, 'COPY to a relative destination without WORKDIR set');
          break;
        }
        case 'RUN': {
          const run = ins.args;
          if (/(^|[\s;&|])sudo\s/.test(run)) add('DL3004', ins, 'Do not use sudo');
          if (/(^|[\s;&|])cd\s/.test(run)) add('DL3003', ins, 'Use WORKDIR to switch to a directory');
          if (/(^|[\s;&|])apt\s/.test(run)) add('DL3027', ins, 'Do not use apt as it is meant to be an end-user tool, use apt-get');
          if (/apt-get\s+(\S+\s+)*upgrade/.test(run)) add('DL3005', ins, 'Do not use apt-get upgrade or dist-upgrade');
          for (const cmd of run.split(/&&|;/)) {
            if (!/apt-get\s.*install/.test(cmd)) continue;
            if (!/\s(-y|--yes|-qq|--assume-yes)\b/.test(cmd)) add('DL3014', ins, 'Use the -y switch to avoid manual input `apt-get -y install <package>`');
            if (!/--no-install-recommends/.test(cmd)) add('DL3015', ins, 'Avoid additional packages by specifying `--no-install-recommends`');
            const unpinned = aptPackages(cmd).filter((p) => !p.includes('='));
            if (unpinned.length > 0) add('DL3008', ins, `Pin versions in apt-get install (${unpinned.join(' ')})`);
          }
          if (/apt-get\s.*install/.test(run) && !/rm -rf \/var\/lib\/apt\/lists/.test(run)) add('DL3009', ins, 'Delete the apt-get lists after installing something');
          if (/\bnpm\s+(i|install)\s+(?!-)[^&;]*?@?\w/.test(run) && !/\bnpm\s+ci\b/.test(run)) {
            const pkgs = (/\bnpm\s+(?:i|install)\s+(.*?)($|&&|;)/.exec(run)?.[1] ?? '').split(/\s+/).filter((w) => w && !w.startsWith('-'));
            if (pkgs.some((p) => !/@[\d^~]/.test(p.replace(/^@/, '')))) add('DL3016', ins, 'Pin versions in npm');
          }
          if (/\|/.test(run.replace(/\|\|/g, '')) && !shellHasPipefail && !/set -o pipefail/.test(run)) add('DL4006', ins, 'Set the SHELL option -o pipefail before RUN with a pipe in it');
          break;
        }
        case 'CMD':
        case 'ENTRYPOINT':
          if (!isExecForm(ins.args)) add('DL3025', ins, 'Use arguments JSON notation for CMD and ENTRYPOINT arguments');
          break;
        default:
          break;
      }
    }
    const count = (k: string): Instruction[] => stage.instructions.filter((i) => i.keyword === k);
    if (count('CMD').length > 1) add('DL4003', count('CMD')[1] as Instruction, 'Multiple CMD instructions found');
    if (count('ENTRYPOINT').length > 1) add('DL4004', count('ENTRYPOINT')[1] as Instruction, 'Multiple ENTRYPOINT instructions found');
    if (index === stages.length - 1) {
      const users = count('USER');
      const last = users[users.length - 1];
      if (!last || /^(root|0)(:|$)/.test(last.args)) add('DL3002', last ?? stage.from, 'Last USER should not be root');
    }
  });
  return findings.concat(imageRules(stages));
}

/** Build-only packages a runtime stage must not carry. */
const BUILD_ONLY = /^(g\+\+|gcc|make|cmake|python3|pkg-config|build-essential|.*-dev)$/;

/** Gantry's own image rules (rule ids GANTRY…). */
function imageRules(stages: Stage[]): Finding[] {
  const findings: Finding[] = [];
  const runtime = stages[stages.length - 1];
  if (!runtime) return [{ rule: 'GANTRY1', line: 1, message: 'no FROM' }];
  if (stages.length < 2) findings.push({ rule: 'GANTRY1', line: runtime.from.line, message: 'not a multi-stage build: the runtime image would carry the compilers' });
  const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop();
  if (!user || !/^[1-9]\d*(:[1-9]\d*)?$/.test(user.args)) {
    findings.push({ rule: 'GANTRY2', line: user?.line ?? runtime.from.line, message: 'the runtime stage must end with a numeric non-root USER uid:gid (runAsNonRoot can verify only numbers)' });
  }
  const entry = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').pop();
  let argv: string[] = [];
  try {
    argv = entry ? (JSON.parse(entry.args) as string[]) : [];
  } catch {
    argv = [];
  }
  if (!entry || argv[0] !== 'node' || argv.some((a) => /^(sh|bash|\/bin\/(ba)?sh)$/.test(a) || a === '-c')) {
    findings.push({ rule: 'GANTRY3', line: entry?.line ?? runtime.from.line, message: 'ENTRYPOINT must be the exec form starting with node, so that Gantry is PID 1 and receives SIGTERM (no shell wrapper)' });
  }
  for (const ins of runtime.instructions.filter((i) => i.keyword === 'RUN')) {
    const extra = aptPackages(ins.args).filter((p) => BUILD_ONLY.test(p));
    if (extra.length > 0) findings.push({ rule: 'GANTRY4', line: ins.line, message: `the runtime stage installs build-only packages: ${extra.join(' ')}` });
    if (/\bnpm\s+(ci|install|i)\b/.test(ins.args)) findings.push({ rule: 'GANTRY4', line: ins.line, message: 'the runtime stage runs npm: copy the production node_modules from the build stage' });
  }
  for (const ins of runtime.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
    if (/(PASSWORD|SECRET|TOKEN|PRIVATE_KEY)\w*\s*=/i.test(ins.args)) findings.push({ rule: 'GANTRY5', line: ins.line, message: 'a secret in ENV/ARG ends up in the image' });
  }
  return findings;
}
