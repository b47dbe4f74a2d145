/**
 * Loading and checking the Kubernetes manifests of deploy/kubernetes without
 * a cluster: rendering (kubectl kustomize, offline), schema validation
 * against the OpenAPI schemas compiled into kubernetes-models (and the
 * Prometheus Operator models), and unknown-field detection through
 * TypeScript's excess-property check against the same models' interfaces.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/gantry-process.js';
import { hasTool } from '../helpers/tools.js';

/** The manifests' folder. */
export const KUBE_DIR = join(REPO_ROOT, 'deploy', 'kubernetes');

/** Any Kubernetes object, loosely typed for the invariant checks. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  [key: string]: any;
}

/** Parses a multi-document YAML text into objects (empty documents dropped); throws on YAML errors. */
export function parseYamlObjects(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as KubeObject | null;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** True when `kubectl` is on PATH (it renders Kustomize offline). */
export const HAVE_KUBECTL = hasTool('kubectl');

/** Renders a Kustomize folder (relative to deploy/kubernetes) with `kubectl kustomize`. */
export function kustomize(dir: string): KubeObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(KUBE_DIR, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseYamlObjects(text, `kubectl kustomize ${dir}`);
}

/** The base's resources read straight from its files (what kubectl would render, less the common labels). */
export function loadBaseFiles(): KubeObject[] {
  const k = parseYamlObjects(readFileSync(join(KUBE_DIR, 'base', 'kustomization.yaml'), 'utf8'), 'base/kustomization.yaml')[0] as unknown as { resources: string[] };
  return k.resources.flatMap((file) => parseYamlObjects(readFileSync(join(KUBE_DIR, 'base', file), 'utf8'), `base/${file}`));
}

/** Where a kind's model lives: [module path without extension, class name]. */
function modelPath(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Validates one object against its bundled OpenAPI schema; resolves with the error text, or undefined when valid. */
export async function schemaErrors(obj: KubeObject): Promise<string | undefined> {
  let mod: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    mod = (await import(modelPath(obj.apiVersion, obj.kind))) as typeof mod;
  } catch {
    return `no bundled schema for ${obj.apiVersion} ${obj.kind}`;
  }
  const Model = mod[obj.kind];
  if (!Model) return `no model class ${obj.kind} in ${modelPath(obj.apiVersion, obj.kind)}`;
  try {
    new Model(obj).validate();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Runs tsc over the objects written as object literals typed by the models'
 * interfaces (`I<Kind>`): an unknown or misspelled field is an excess
 * property (TS2353/TS2561), which the schema validators accept silently.
 * Resolves with tsc's diagnostics ('' when none).
 */
export function unknownFieldDiagnostics(objects: { label: string; obj: KubeObject }[]): string {
  const dir = join(REPO_ROOT, 'node_modules', '.cache', `gantry-manifest-check-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const lines: string[] = [];
    objects.forEach(({ label, obj }, i) => {
      const path = modelPath(obj.apiVersion, obj.kind);
      lines.push(`// ${label}`);
      lines.push(`import type { I${obj.kind} as T${i} } from '${path}';`);
      lines.push(`export const o${i}: T${i} = ${JSON.stringify(obj, null, 2)};`);
    });
    writeFileSync(join(dir, 'objects.ts'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: [] },
      files: ['objects.ts'],
    }));
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return '';
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || String(err);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** True when every label of `selector` is in `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return true;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The objects of one kind. */
export function ofKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** Pod templates of the workloads (Deployments), with their owner. */
export function podTemplates(objects: KubeObject[]): { owner: KubeObject; labels: Record<string, string>; spec: KubeObject['spec'] }[] {
  return ofKind(objects, 'Deployment').map((d) => ({ owner: d, labels: d.spec.template.metadata.labels as Record<string, string>, spec: d.spec.template.spec }));
}

/** The value of `--name=value` (or `--name value`) in args; undefined when absent. */
export function argValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    if (a === name) return args[i + 1];
  }
  return undefined;
}
