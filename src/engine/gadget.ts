/**
 * The gadget interface: an async function over a typed input stream.
 * Messages a gadget does not accept pass through to its output untouched.
 */
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { Message } from '../ismrmrd/messages.js';
import type { DependencyStore } from '../storage/types.js';
import type { Logger } from '../util/logger.js';
import type { Output } from './channel.js';
import type { PropertiesOf, PropertySchema } from './properties.js';

/** What a running gadget may use besides its input and output. */
export interface GadgetContext {
  /** The session's ISMRMRD header; undefined when the session sent none (dependency queries). */
  readonly header: IsmrmrdHeader | undefined;
  /** Location in the pipeline, e.g. `main/SimpleRecon`; used in error reports. */
  readonly path: string;
  readonly log: Logger;
  /** Aborted when the session ends early. */
  readonly signal: AbortSignal;
  /** Where measurement dependencies (noise covariances) are saved and loaded; undefined when the server runs without storage. */
  readonly storage?: DependencyStore;
  /** Stream parameters (`--parameter name=value`), e.g. `noisecovariancein`. */
  readonly parameters?: ReadonlyMap<string, string>;
  /** Sends a warning to the client at once as a TEXT message (`[location] WARNING: text`); the session goes on. */
  readonly notify?: (text: string) => void;
  /**
   * Gantry names of the gadgets after this one in the same in-process chain,
   * up to the first step that is not a gadget (the first consumes this
   * gadget's output). Lets a gadget hand work it would do to one that does it
   * better (prewhitening to BucketToBuffer, the eigen-channel rotation into
   * GRAPPA's unmixing weights); never needed for correctness.
   */
  readonly downstream?: readonly string[];
}

/** Properties every Gadgetron legacy gadget accepts and ignores. */
export const commonProperties: PropertySchema = {
  using_cloudbus: { type: 'boolean', default: false },
  pass_on_undesired_data: { type: 'boolean', default: true },
  threads: { type: 'integer', default: 1 },
  workingDirectory: { type: 'string', default: '/tmp/gadgetron/' },
};

/** A gadget definition, registered under the Gadgetron class names it answers to. */
export interface GadgetDefinition<S extends PropertySchema = PropertySchema, I extends Message = Message> {
  /** Gantry's name for it (usually the first class name). */
  readonly name: string;
  /** Gadgetron class names (any `dll` is accepted). */
  readonly classNames: readonly string[];
  readonly properties: S;
  /** Strict gadgets (Gadgetron legacy gadgets) refuse unknown property names. */
  readonly strict: boolean;
  /** One line on what it does. */
  readonly description: string;
  accepts: (message: Message) => message is I;
  run(input: AsyncIterable<I>, output: Output<Message>, props: PropertiesOf<S>, context: GadgetContext): Promise<void>;
}

/** Erased form used by registries and the engine. */
export type AnyGadgetDefinition = GadgetDefinition<PropertySchema, Message>;

/** Declares a gadget (identity function that keeps the types). */
export function defineGadget<S extends PropertySchema, I extends Message>(def: GadgetDefinition<S, I>): AnyGadgetDefinition {
  return def as unknown as AnyGadgetDefinition;
}


/**
 * Declares a one-in/one-out (or one-in/many-out) gadget from a function on a
 * single message: returning undefined drops it, an array emits each element.
 */
export function defineMapGadget<S extends PropertySchema, I extends Message>(def: {
  name: string;
  classNames: readonly string[];
  properties: S;
  strict: boolean;
  description: string;
  accepts: (message: Message) => message is I;
  setup?(props: PropertiesOf<S>, context: GadgetContext): void;
  process(message: I, props: PropertiesOf<S>, context: GadgetContext): Message | Message[] | undefined;
}): AnyGadgetDefinition {
  return defineGadget<S, I>({
    name: def.name,
    classNames: def.classNames,
    properties: def.properties,
    strict: def.strict,
    description: def.description,
    accepts: def.accepts,
    async run(input, output, props, context) {
      def.setup?.(props, context);
      for await (const message of input) {
        const result = def.process(message, props, context);
        if (result === undefined) continue;
        if (Array.isArray(result)) for (const m of result) await output.push(m);
        else await output.push(result);
      }
    },
  });
}
