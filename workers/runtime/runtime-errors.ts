/** Job-visible codes of a failed inference; failure mapping records them as they are. */
export type InferenceErrorCode = 'inference_failed' | 'inference_crashed';

/**
 * An inference that did not produce outputs: onnxruntime refused the batch, or the model is
 * closed (`inference_failed`). Recognised by class and `code`, never by its message.
 */
export class InferenceError extends Error {
  readonly code: InferenceErrorCode;
  /** True when the inference thread died under the run (or could not be started again). */
  readonly crashed: boolean;

  constructor(message: string, code: InferenceErrorCode = 'inference_failed') {
    super(message);
    this.name = 'InferenceError';
    this.code = code;
    this.crashed = code === 'inference_crashed';
  }
}

/** The inference thread died under the run (`inference_crashed`): only its batch fails. */
export class InferenceCrashedError extends InferenceError {
  constructor(message: string) {
    super(message, 'inference_crashed');
    this.name = 'InferenceCrashedError';
  }
}

/** The caller's signal aborted the run before it reached the inference thread. */
export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

/** What a run gets once its model is closed. */
export const modelClosedError = (model: string) => new InferenceError(`model ${model} is closed`);
