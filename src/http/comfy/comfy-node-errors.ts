import { AppError } from '../../errors';
import type { ComfyGraph, ComfyNodeErrors } from './comfy-schemas';

/** Collects node_errors while a workflow is read; `fail` throws them as one 400. */
export class NodeErrorList {
  readonly errors: ComfyNodeErrors = {};
  constructor(private readonly graph: ComfyGraph) {}

  add(node: string, type: string, message: string, input?: string): void {
    const entry = (this.errors[node] ??= {
      errors: [],
      dependent_outputs: [],
      class_type: this.graph[node]?.class_type ?? '',
    });
    entry.errors.push({
      type,
      message,
      details: input ? `${input}: ${message}` : message,
      extra_info: input ? { input_name: input } : {},
    });
  }

  get empty(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  /** Marks which output nodes each failing node would have fed, as ComfyUI reports it. */
  withOutputs(outputs: string[]): ComfyNodeErrors {
    for (const entry of Object.values(this.errors)) entry.dependent_outputs = outputs;
    return this.errors;
  }
}

/** The body ComfyUI answers a workflow it cannot run with (and, here, any other error of POST /prompt). */
export interface ComfyPromptError {
  error: { type: string; message: string; details: string; extra_info: Record<string, unknown> };
  node_errors: ComfyNodeErrors;
}

/** A 400 carrying ComfyUI's body as its details. */
export function invalidPrompt(node_errors: ComfyNodeErrors, type = 'prompt_outputs_failed_validation'): AppError {
  const message = type === 'prompt_no_outputs' ? 'Prompt has no outputs' : 'Prompt outputs failed validation';
  const details = Object.entries(node_errors)
    .map(([id, e]) => `node ${id} (${e.class_type}): ${e.errors.map((x) => x.message).join('; ')}`)
    .join('\n');
  const body: ComfyPromptError = { error: { type, message, details, extra_info: {} }, node_errors };
  return new AppError(400, type, details ? `${message}: ${details}` : message, body);
}

const isComfyBody = (details: unknown): details is ComfyPromptError =>
  typeof details === 'object' && details !== null && 'node_errors' in details && 'error' in details;

/** Errors of POST /prompt in ComfyUI's shape, which its clients read. */
export const comfyErrorBody = (e: AppError): ComfyPromptError =>
  isComfyBody(e.details)
    ? e.details
    : { error: { type: e.code, message: e.message, details: '', extra_info: {} }, node_errors: {} };
