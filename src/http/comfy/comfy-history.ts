import { generationResultSchema } from '../../jobs/job-contract';
import type { DarkroomJob } from '../../jobs/job-queues';
import type { JobView } from '../../jobs/job-view';
import type { AppDeps } from '../app-deps';
import { viewOf } from '../job-lookup';
import type { ComfyStore, PromptRecord } from './comfy-store';

/** ComfyUI's views of a prompt (GET /history, GET /queue, the `executed` message) built from its job. */

const EXT: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpg' };
/** Output files are named for their job and index, so GET /view finds them (for their owner only). */
export const OUTPUT_FILE = /^((?:gen|i2i)_[0-9a-f-]{36})_(\d{1,4})\.(png|webp|jpg)$/;

export interface ComfyImageRef {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp';
}

/** The job's images as each output node shows them. */
export function outputsOf(job: DarkroomJob, record: PromptRecord): Record<string, { images: ComfyImageRef[] }> {
  const parsed = generationResultSchema.safeParse(job.returnvalue);
  const images = parsed.success ? parsed.data.images.sort((a, b) => a.index - b.index) : [];
  return Object.fromEntries(
    record.outputs.map(({ node, type }) => [
      node,
      {
        images: images.map((i) => ({
          filename: `${String(job.id)}_${i.index}.${EXT[i.content_type] ?? 'png'}`,
          subfolder: '',
          type,
        })),
      },
    ]),
  );
}

/** `[number, prompt_id, prompt, extra_data, outputs_to_execute]`, as ComfyUI lists a queued prompt. */
export const queueItem = (id: string, record: PromptRecord) => [
  record.number,
  id,
  record.graph,
  { client_id: record.client_id ?? null, create_time: record.created },
  record.outputs.map((o) => o.node),
];

const stamp = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Date.now());

export function historyEntry(job: DarkroomJob, view: JobView, record: PromptRecord) {
  const id = String(job.id);
  const ok = view.status === 'succeeded';
  const messages: [string, Record<string, unknown>][] = [
    ['execution_start', { prompt_id: id, timestamp: stamp(view.started_at) }],
    ['execution_cached', { nodes: [], prompt_id: id, timestamp: stamp(view.started_at) }],
    ok
      ? ['execution_success', { prompt_id: id, timestamp: stamp(view.finished_at) }]
      : [
          view.status === 'canceled' ? 'execution_interrupted' : 'execution_error',
          {
            prompt_id: id,
            timestamp: stamp(view.finished_at),
            ...(view.error && { exception_message: view.error.message }),
          },
        ],
  ];
  return {
    prompt: queueItem(id, record),
    outputs: ok ? outputsOf(job, record) : {},
    status: { status_str: ok ? 'success' : 'error', completed: ok, messages },
    meta: Object.fromEntries(
      record.outputs.map(({ node }) => [
        node,
        { node_id: node, display_node: node, parent_node: null, real_node_id: node },
      ]),
    ),
  };
}

export interface OwnedPrompt {
  id: string;
  job: DarkroomJob;
  view: JobView;
  record: PromptRecord;
}

/** The key's prompts still kept (newest first); ids whose jobs have expired are forgotten on the way. */
export async function ownedPrompts(
  deps: AppDeps,
  comfy: ComfyStore,
  owner: string,
  max?: number,
): Promise<OwnedPrompt[]> {
  const ids = await comfy.list(owner, max);
  const found = await Promise.all(
    ids.map(async (id) => {
      const [job, record] = await Promise.all([deps.queues.getJob(id), comfy.load(id)]);
      return job && record ? { id, job, view: await viewOf(deps, job), record } : id;
    }),
  );
  await comfy.drop(
    owner,
    found.filter((f): f is string => typeof f === 'string'),
  );
  return found.filter((f): f is OwnedPrompt => typeof f !== 'string');
}
