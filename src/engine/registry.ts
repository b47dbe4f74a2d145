/**
 * Resolves Gadgetron class names (readers, writers, gadgets) to Gantry
 * implementations. Any `dll` name is accepted: Gantry has one registry.
 */
import type { MessageKind } from '../ismrmrd/messages.js';
import type { AnyGadgetDefinition } from './gadget.js';
import { branchDefinitions, mergeDefinitions, type BranchDefinition, type MergeDefinition } from './parallel.js';
import { distributorDefinitions, type AnyDistributorDefinition } from '../distributed/nodes/distributors.js';

/**
 * A gadget whose module loads on demand: `classNames` are those of the
 * definition `load` resolves with.
 */
export interface LazyGadget {
  readonly classNames: readonly string[];
  load(): Promise<AnyGadgetDefinition>;
}

/** A reader class: which message id it reads by default. */
export interface ReaderDefinition {
  classNames: readonly string[];
  slot: number;
}

/** A writer class: which message kinds it sends to the client. */
export interface WriterDefinition {
  classNames: readonly string[];
  kinds: readonly MessageKind[];
}

/** Gadgetron's reader classes and their default slots. */
export const readerDefinitions: readonly ReaderDefinition[] = [
  { classNames: ['GadgetIsmrmrdAcquisitionMessageReader', 'AcquisitionReader'], slot: 1008 },
  { classNames: ['GadgetIsmrmrdWaveformMessageReader', 'WaveformReader'], slot: 1026 },
  { classNames: ['MRIImageReader', 'ImageReader'], slot: 1022 },
  { classNames: ['BufferReader'], slot: 1023 },
  { classNames: ['IsmrmrdImageArrayReader'], slot: 1024 },
  { classNames: ['AcquisitionBucketReader'], slot: 1050 },
  { classNames: ['TextReader'], slot: 5 },
];

/** Gadgetron's writer classes and the message kinds they write. */
export const writerDefinitions: readonly WriterDefinition[] = [
  { classNames: ['MRIImageWriter', 'ImageWriter', 'MRIImageWriterCPLX', 'MRIImageWriterFLOAT', 'MRIImageWriterUSHORT'], kinds: ['image'] },
  { classNames: ['GadgetIsmrmrdAcquisitionMessageWriter', 'AcquisitionWriter'], kinds: ['acquisition'] },
  { classNames: ['GadgetIsmrmrdWaveformMessageWriter', 'WaveformWriter'], kinds: ['waveform'] },
  { classNames: ['TextWriter'], kinds: ['text'] },
  { classNames: ['DependencyQueryWriter'], kinds: ['dependencyquery'] },
  { classNames: ['DicomImageWriter'], kinds: ['dicom'] },
  { classNames: ['BufferWriter'], kinds: ['recondata'] },
  { classNames: ['IsmrmrdImageArrayWriter'], kinds: ['imagearray'] },
  { classNames: ['AcquisitionBucketWriter'], kinds: ['bucket'] },
];

/** Looks up gadgets, readers and writers by Gadgetron class name. */
export class Registry {
  private readonly gadgets = new Map<string, AnyGadgetDefinition>();
  private readonly readers = new Map<string, ReaderDefinition>();
  private readonly writers = new Map<string, WriterDefinition>();
  private readonly branches = new Map<string, BranchDefinition>();
  private readonly merges = new Map<string, MergeDefinition>();
  private readonly distributors = new Map<string, AnyDistributorDefinition>();
  /** Gadget classes registered lazily and not loaded yet. */
  private readonly unloaded = new Map<string, LazyGadget>();

  constructor(
    gadgets: readonly AnyGadgetDefinition[],
    readers = readerDefinitions,
    writers = writerDefinitions,
    branches = branchDefinitions,
    merges = mergeDefinitions,
    distributors = distributorDefinitions,
    lazyGadgets: readonly LazyGadget[] = [],
  ) {
    for (const d of distributors) for (const name of d.classNames) this.distributors.set(name, d);
    for (const b of branches) for (const name of b.classNames) this.branches.set(name, b);
    for (const m of merges) for (const name of m.classNames) this.merges.set(name, m);
    for (const g of gadgets) {
      for (const name of g.classNames) {
        if (this.gadgets.has(name)) throw new Error(`Cannot register gadget class ${name} twice`);
        this.gadgets.set(name, g);
      }
    }
    for (const g of lazyGadgets) {
      for (const name of g.classNames) {
        if (this.gadgets.has(name) || this.unloaded.has(name)) throw new Error(`Cannot register gadget class ${name} twice`);
        this.unloaded.set(name, g);
      }
    }
    for (const r of readers) for (const name of r.classNames) this.readers.set(name, r);
    for (const w of writers) for (const name of w.classNames) this.writers.set(name, w);
  }

  /**
   * The gadget registered under `className`, or undefined when none is.
   * Throws for a lazily registered class whose module {@link load} (or
   * {@link loadFor}) has not loaded yet.
   */
  gadget(className: string): AnyGadgetDefinition | undefined {
    const loaded = this.gadgets.get(className);
    if (loaded || !this.unloaded.has(className)) return loaded;
    throw new Error(`Cannot use gadget class ${className}: its module is not loaded yet (await Registry.loadFor(config) before planning)`);
  }

  /** Loads the modules of the lazily registered gadget classes among `classNames` (other names are ignored). */
  async load(classNames: Iterable<string>): Promise<void> {
    const wanted = new Set<LazyGadget>();
    for (const name of classNames) {
      const lazy = this.unloaded.get(name);
      if (lazy) wanted.add(lazy);
    }
    await Promise.all([...wanted].map(async (lazy) => {
      const definition = await lazy.load();
      for (const name of lazy.classNames) {
        if (!definition.classNames.includes(name)) {
          throw new Error(`Cannot load gadget class ${name}: its module defines ${definition.classNames.join(', ')}`);
        }
        this.gadgets.set(name, definition);
        this.unloaded.delete(name);
      }
    }));
  }

  /**
   * Loads the modules of every lazily registered gadget class that a parsed
   * configuration names: every `classname` string found in it, at any depth
   * (streams, branches, distributed and worker streams).
   */
  async loadFor(config: unknown): Promise<void> {
    await this.load(classNamesIn(config));
  }

  reader(className: string): ReaderDefinition | undefined {
    return this.readers.get(className);
  }

  writer(className: string): WriterDefinition | undefined {
    return this.writers.get(className);
  }

  branch(className: string): BranchDefinition | undefined {
    return this.branches.get(className);
  }

  merge(className: string): MergeDefinition | undefined {
    return this.merges.get(className);
  }

  /** The distributor of `<distributed>` nodes registered under `className`. */
  distributor(className: string): AnyDistributorDefinition | undefined {
    return this.distributors.get(className);
  }

  /** All registered gadget class names, sorted. */
  gadgetClassNames(): string[] {
    return [...this.gadgets.keys(), ...this.unloaded.keys()].sort();
  }
}

/** Every string value of a `classname` property in `value`, searched depth-first (objects and arrays; cycles are skipped). */
export function classNamesIn(value: unknown, out = new Set<string>(), seen = new Set<object>()): Set<string> {
  if (typeof value !== 'object' || value === null || seen.has(value)) return out;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const item of value) classNamesIn(item, out, seen);
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key === 'classname' && typeof item === 'string') out.add(item);
    else classNamesIn(item, out, seen);
  }
  return out;
}
