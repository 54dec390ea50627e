import type { JobProgress } from '../../jobs/job-contract';
import type { LiveAppDeps } from '../app-deps';
import { viewOf } from '../job-lookup';
import { waitForJobEnd } from '../job-wait';
import { outputsOf } from './comfy-history';
import type { ComfyStore, PromptRecord } from './comfy-store';

/**
 * One prompt told over a ComfyUI websocket, in the order ComfyUI's executor sends it:
 * execution_start, execution_cached, `executing` for each node up to the sampler, `progress`
 * (value/max = step/steps) while it samples, then `executing` and `executed` for the nodes after
 * it, execution_success (or execution_error / execution_interrupted), and last `executing` with
 * node null, which clients such as Open WebUI wait for.
 */

export type Send = (type: string, data: Record<string, unknown>) => void;

/** No wait is longer than setTimeout allows (about 24 days). */
const MAX_WAIT_MS = 2 ** 31 - 1;

function narrate(send: Send, id: string, record: PromptRecord) {
  const now = () => Date.now();
  const split = record.order.indexOf(record.sampler) + 1;
  let started = false;
  let lastStep = -1;
  const executing = (node: string | null) => send('executing', { node, display_node: node, prompt_id: id });
  return {
    start() {
      if (started) return;
      started = true;
      send('execution_start', { prompt_id: id, timestamp: now() });
      send('execution_cached', { nodes: [], prompt_id: id, timestamp: now() });
      for (const node of record.order.slice(0, split)) executing(node);
    },
    progress(p: JobProgress) {
      this.start();
      const [value, max] = p.steps
        ? [p.step ?? Math.round(p.value * p.steps), p.steps]
        : [Math.round(p.value * 100), 100];
      if (value <= lastStep) return;
      lastStep = value;
      send('progress', { value, max, prompt_id: id, node: record.sampler });
    },
    succeeded(outputs: Record<string, unknown>) {
      this.start();
      for (const node of record.order.slice(split)) {
        executing(node);
        if (outputs[node]) send('executed', { node, display_node: node, output: outputs[node], prompt_id: id });
      }
      send('execution_success', { prompt_id: id, timestamp: now() });
      executing(null);
    },
    failed(interrupted: boolean, error: { code: string; message: string } | undefined) {
      this.start();
      const node = { prompt_id: id, node_id: record.sampler, node_type: 'KSampler', executed: [], timestamp: now() };
      if (interrupted) send('execution_interrupted', node);
      else
        send('execution_error', {
          ...node,
          exception_message: error?.message ?? 'the job failed',
          exception_type: error?.code ?? 'job_failed',
          traceback: [],
          current_inputs: {},
          current_outputs: {},
        });
      executing(null);
    },
  };
}

/** Sends the prompt's messages until it ends, the socket closes (`signal`) or the server stops. */
export async function followPrompt(deps: LiveAppDeps, comfy: ComfyStore, id: string, send: Send, signal: AbortSignal) {
  const record = await comfy.load(id);
  if (!record) return;
  const story = narrate(send, id, record);
  const unsubscribe = await deps.events.subscribe(id, (event) => {
    if (event.kind === 'status' && event.status === 'running') story.start();
    if (event.kind === 'progress') story.progress(event.progress);
  });
  try {
    const job = await deps.queues.getJob(id);
    const snapshot = job && (await viewOf(deps, job));
    if (snapshot?.status === 'running') story.start();
    const ended = await waitForJobEnd(
      deps,
      id,
      Math.min(deps.config.jobs.retentionSeconds * 1000, MAX_WAIT_MS),
      signal,
    );
    if (!ended) return;
    const done = await deps.queues.getJob(id);
    if (!done) return story.failed(true, undefined);
    const view = await viewOf(deps, done);
    if (view.status === 'succeeded') story.succeeded(outputsOf(done, record));
    else story.failed(view.status === 'canceled', view.error);
  } finally {
    unsubscribe();
  }
}
