/**
 * Distributors of `<distributed>` nodes. A distributor only decides which
 * lane (job) each message goes to; the node runs the lanes on workers.
 * Messages of kinds it does not take bypass the workers to the node's output.
 *
 * - AcquisitionDistributor: one lane per distinct value of one encoding
 *   counter (`parallel_dimension`, default `slice`), opened on first sight.
 * - BufferDistributor: one lane per encoding space; each recon buffer is split
 *   by encoding space (its waveforms are not sent, as in Gadgetron).
 */
import type { IsmrmrdHeader } from '../../ismrmrd/xml-header.js';
import type { Message, MessageKind } from '../../ismrmrd/messages.js';
import type { Acquisition } from '../../ismrmrd/types.js';
import type { PropertiesOf, PropertySchema } from '../../engine/properties.js';

/** One message for one lane. */
export interface LaneAssignment {
  readonly lane: string;
  readonly message: Message;
}

/** A running distributor: where each message it takes goes. */
export interface Distributor {
  /** The lanes `message` goes to (a lane opens on first use). Called only for messages of the definition's `kinds`. */
  assign(message: Message): readonly LaneAssignment[];
}

/** A distributor class, registered under Gadgetron's class names. */
export interface DistributorDefinition<S extends PropertySchema = PropertySchema> {
  readonly name: string;
  readonly classNames: readonly string[];
  readonly properties: S;
  readonly description: string;
  /** Message kinds sent to workers; every other message bypasses them. */
  readonly kinds: readonly MessageKind[];
  create(props: PropertiesOf<S>, header: IsmrmrdHeader | undefined): Distributor;
}

/** Erased form used by the registry and the engine. */
export type AnyDistributorDefinition = DistributorDefinition<PropertySchema>;

/** The encoding counters a lane can be keyed on (Gadgetron's `parallel_dimension` values). */
export const PARALLEL_DIMENSIONS = [
  'kspace_encode_step_1', 'kspace_encode_step_2', 'average', 'slice', 'contrast', 'phase', 'repetition', 'set', 'segment',
  'user_0', 'user_1', 'user_2', 'user_3', 'user_4', 'user_5', 'user_6', 'user_7',
] as const;

/** One of {@link PARALLEL_DIMENSIONS}. */
export type ParallelDimension = (typeof PARALLEL_DIMENSIONS)[number];

/** The value of counter `dimension` of an acquisition. */
export function counterValue(acquisition: Acquisition, dimension: ParallelDimension): number {
  const idx = acquisition.head.idx;
  if (dimension.startsWith('user_')) return idx.user[Number(dimension.slice(5))] ?? 0;
  return idx[dimension as Exclude<ParallelDimension, `user_${number}`>];
}

/** A distributor that keys acquisitions by one counter. */
export function acquisitionLanes(dimension: ParallelDimension): Distributor {
  return {
    assign: (message) => (message.kind === 'acquisition' ? [{ lane: `${dimension}=${counterValue(message, dimension)}`, message }] : []),
  };
}

const acquisitionSchema = {
  parallel_dimension: { type: 'enum', values: PARALLEL_DIMENSIONS, default: 'slice', description: 'encoding counter whose values become separate jobs' },
} as const satisfies PropertySchema;

/** Gadgetron's AcquisitionDistributor. */
export const acquisitionDistributor: DistributorDefinition<typeof acquisitionSchema> = {
  name: 'AcquisitionDistributor',
  classNames: ['AcquisitionDistributor'],
  properties: acquisitionSchema,
  description: 'One job per distinct value of an encoding counter of the acquisitions',
  kinds: ['acquisition'],
  create: (props) => acquisitionLanes(props.parallel_dimension as ParallelDimension),
};

/** Gadgetron's BufferDistributor. */
export const bufferDistributor: DistributorDefinition<Record<string, never>> = {
  name: 'BufferDistributor',
  classNames: ['BufferDistributor'],
  properties: {},
  description: 'One job per encoding space; each recon buffer is split by encoding space',
  kinds: ['recondata'],
  create: () => ({
    assign(message) {
      if (message.kind !== 'recondata') return [];
      return message.rbit.map((bit, e) => ({ lane: `encoding=${e}`, message: { kind: 'recondata', rbit: [bit] } }));
    },
  }),
};

/** Gadgetron's core distributors. */
export const distributorDefinitions: readonly AnyDistributorDefinition[] = [
  acquisitionDistributor as unknown as AnyDistributorDefinition,
  bufferDistributor as unknown as AnyDistributorDefinition,
];
