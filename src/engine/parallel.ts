/**
 * Branches and merges of `<parallel>` nodes: a branch decides which keyed
 * streams each message goes to (messages it does not take bypass to the
 * parallel node's output); a merge combines the streams' outputs.
 */
import type { Message, MessageKind } from '../ismrmrd/messages.js';
import type { Output } from './channel.js';

/** A branch class: copies messages of some kinds to every stream. */
export interface BranchDefinition {
  readonly classNames: readonly string[];
  readonly description: string;
  /** Stream keys a message goes to; empty → bypass to the node's output. */
  route(message: Message, keys: readonly string[]): readonly string[];
}

/** A merge class: combines the outputs of the keyed streams. */
export interface MergeDefinition {
  readonly classNames: readonly string[];
  readonly description: string;
  run(inputs: ReadonlyMap<string, AsyncIterable<Message>>, output: Output<Message>): Promise<void>;
}

function fanout(className: string, kinds: readonly MessageKind[]): BranchDefinition {
  return {
    classNames: [className],
    description: `Copies every ${kinds.join('/')} message to every stream`,
    route: (message, keys) => (kinds.includes(message.kind) ? keys : []),
  };
}

/** Gadgetron's core branches. */
export const branchDefinitions: readonly BranchDefinition[] = [
  fanout('AcquisitionFanout', ['acquisition']),
  fanout('WaveformFanout', ['waveform']),
  fanout('ImageFanout', ['image']),
];

/** UnorderedMerge: forwards each stream's output as it arrives. */
export const unorderedMerge: MergeDefinition = {
  classNames: ['UnorderedMerge'],
  description: "Forwards each stream's output as it arrives",
  async run(inputs, output) {
    await Promise.all([...inputs.values()].map(async (input) => {
      for await (const message of input) await output.push(message);
    }));
  },
};

/** Gadgetron's core merges. */
export const mergeDefinitions: readonly MergeDefinition[] = [unorderedMerge];
