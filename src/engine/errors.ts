/**
 * Domain errors raised while building and running pipelines.
 */

/** A gadget failed while running; `path` is its location in the pipeline. */
export class GadgetError extends Error {
  override readonly name = 'GadgetError';
  readonly code = 'GADGET_FAILED';
  constructor(readonly path: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** A configuration refers to something the engine cannot build (class, property, node kind). */
export class PipelineBuildError extends Error {
  override readonly name = 'PipelineBuildError';
  constructor(
    message: string,
    readonly code: 'UNKNOWN_CLASS' | 'UNKNOWN_PROPERTY' | 'BAD_PROPERTY' | 'UNSUPPORTED_NODE' | 'UNKNOWN_READER' | 'UNKNOWN_WRITER',
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }
}
