/**
 * Resolves Gadgetron class names (readers, writers, gadgets) to Gantry
 * implementations. Any `dll` name is accepted: Gantry has one registry.
 */
import type { MessageKind } from '../ismrmrd/messages.js';
import type { AnyGadgetDefinition } from './gadget.js';
import { branchDefinitions, mergeDefinitions, type BranchDefinition, type MergeDefinition } from './parallel.js';
import { distributorDefinitions, type AnyDistributorDefinition } from '../distributed/nodes/distributors.js';

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

  constructor(
    gadgets: readonly AnyGadgetDefinition[],
    readers = readerDefinitions,
    writers = writerDefinitions,
    branches = branchDefinitions,
    merges = mergeDefinitions,
    distributors = distributorDefinitions,
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
    for (const r of readers) for (const name of r.classNames) this.readers.set(name, r);
    for (const w of writers) for (const name of w.classNames) this.writers.set(name, w);
  }

  gadget(className: string): AnyGadgetDefinition | undefined {
    return this.gadgets.get(className);
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
    return [...this.gadgets.keys()].sort();
  }
}
