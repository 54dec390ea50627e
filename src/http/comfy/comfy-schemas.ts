import { z } from 'zod';

/**
 * Bodies of ComfyUI's API as darkroom reads them (ComfyUI's server.py: POST /prompt, /queue,
 * /interrupt). Every part is bounded: the JSON reader bounds bytes and nesting, these bound how
 * many nodes and inputs a workflow has and how long its strings are.
 */

export const MAX_NODES = 64;
const MAX_INPUTS = 32;
const MAX_TEXT = 10_000;
/** POST /prompt bodies may carry the UI workflow in extra_data (a few hundred KB at most in practice). */
export const MAX_PROMPT_BODY_BYTES = 4 * 1024 * 1024;

const nodeId = z.string().min(1).max(64);
/** A link to another node's output: `[node id, output index]`. */
export const linkSchema = z.tuple([z.union([nodeId, z.number().int().min(0)]), z.number().int().min(0).max(63)]);
const inputValue = z.union([z.string().max(MAX_TEXT), z.number(), z.boolean(), z.null(), linkSchema]);

const limitedRecord = <T extends z.ZodType>(value: T, max: number, what: string) =>
  z.record(z.string().min(1).max(128), value).refine((r) => Object.keys(r).length <= max, `at most ${max} ${what}`);

export const comfyNodeSchema = z.object({
  class_type: z.string().min(1).max(128),
  inputs: limitedRecord(inputValue, MAX_INPUTS, 'inputs per node').default({}),
  _meta: z.object({ title: z.string().max(256).optional() }).optional(),
});
export type ComfyNode = z.infer<typeof comfyNodeSchema>;
export type ComfyGraph = Record<string, ComfyNode>;

export const comfyPromptRequestSchema = z
  .object({
    prompt: z
      .record(nodeId, z.unknown())
      .refine((r) => Object.keys(r).length <= MAX_NODES, `at most ${MAX_NODES} nodes`)
      .refine((r) => Object.keys(r).length > 0, 'the workflow has no nodes')
      .pipe(z.record(nodeId, comfyNodeSchema)),
    client_id: z.string().max(128).optional(),
    prompt_id: z.string().max(128).optional(),
    extra_data: z.record(z.string(), z.unknown()).optional(),
    front: z.boolean().optional(),
    number: z.number().optional(),
  })
  .meta({
    id: 'ComfyPromptRequest',
    description: "ComfyUI's POST /prompt: an API-format workflow (node id -> { class_type, inputs }).",
  });
export type ComfyPromptRequest = z.infer<typeof comfyPromptRequestSchema>;

export const comfyQueueRequestSchema = z
  .object({
    delete: z.array(z.string().max(128)).max(1000).optional(),
    clear: z.boolean().optional(),
  })
  .meta({ id: 'ComfyQueueRequest' });

export const comfyInterruptRequestSchema = z.object({ prompt_id: z.string().max(128).optional() });

/** One problem with a node, in ComfyUI's shape. */
export interface ComfyApiError {
  type: string;
  message: string;
  details: string;
  extra_info: { input_name?: string };
}
export interface ComfyNodeError {
  errors: ComfyApiError[];
  dependent_outputs: string[];
  class_type: string;
}
export type ComfyNodeErrors = Record<string, ComfyNodeError>;
