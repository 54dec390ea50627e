import { Router, type Request, type RequestHandler } from 'express';
import { AppError } from '../../errors';
import { requestCancel } from '../../jobs/job-cancellation';
import type { LiveAppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { createErrorHandler } from '../error-handler';
import { findJob, viewOf } from '../job-lookup';
import { jsonBody } from '../json-body';
import { readWorkflow } from './comfy-graph';
import { historyEntry, ownedPrompts, queueItem, type OwnedPrompt } from './comfy-history';
import { comfyErrorBody, invalidPrompt } from './comfy-node-errors';
import {
  comfyInterruptRequestSchema,
  comfyPromptRequestSchema,
  comfyQueueRequestSchema,
  MAX_PROMPT_BODY_BYTES,
} from './comfy-schemas';
import type { ComfyStore } from './comfy-store';
import { submitPlan } from './comfy-submit';

/** ComfyUI's prompt routes: each prompt is one darkroom job of the key that sent it. */

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);
const isRunning = (p: OwnedPrompt) => p.view.status === 'running';
const isPending = (p: OwnedPrompt) => p.view.status === 'queued';

/** Unfinished prompts of the key: what ComfyUI calls queue_remaining. */
export const queueRemaining = async (deps: LiveAppDeps, comfy: ComfyStore, owner: string) =>
  (await ownedPrompts(deps, comfy, owner)).filter((p) => !FINISHED.has(p.view.status)).length;

async function cancel(deps: LiveAppDeps, prompts: OwnedPrompt[]) {
  const { redis, config } = deps;
  for (const p of prompts) await requestCancel(redis, config.redis.prefix, p.id, config.jobs.retentionSeconds);
}

export function comfyPromptRoutes(deps: LiveAppDeps, comfy: ComfyStore): Router {
  const router = Router();
  const body = jsonBody({
    ...deps.config.limits,
    maxJsonBytes: Math.min(deps.config.limits.maxJsonBytes, MAX_PROMPT_BODY_BYTES),
  });
  router.post('/prompt', body, postPrompt(deps, comfy));
  router.use('/prompt', createErrorHandler(deps.logger, comfyErrorBody));

  router.get('/prompt', async (req, res) => {
    res.json({ exec_info: { queue_remaining: await queueRemaining(deps, comfy, principalOf(req)) } });
  });
  historyRoutes(router, deps, comfy);
  queueRoutes(router, deps, comfy, body);
  return router;
}

/** POST /prompt: the workflow becomes a darkroom job, numbered and announced to the client's socket. */
function postPrompt(deps: LiveAppDeps, comfy: ComfyStore): RequestHandler {
  return async (req, res) => {
    const parsed = comfyPromptRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      throw new AppError(400, 'invalid_prompt', `invalid prompt: ${message}`);
    }
    const { prompt: graph, client_id } = parsed.data;
    const plan = readWorkflow(graph);
    const owner = principalOf(req);
    const id = await submitPlan(deps, comfy, req, graph, plan);
    const number = await comfy.nextNumber();
    const { order, sampler, outputs } = plan;
    await comfy.save(owner, id, { number, client_id, graph, order, sampler, outputs, created: Date.now() });
    if (client_id) await comfy.announce({ owner, client_id, prompt_id: id });
    res.json({ prompt_id: id, number, node_errors: {} });
  };
}

/** GET /history/:id and GET /history: the key's finished prompts. */
function historyRoutes(router: Router, deps: LiveAppDeps, comfy: ComfyStore) {
  router.get('/history/:id', async (req, res) => {
    const owner = principalOf(req);
    const job = await findJob(deps, owner, req.params.id).catch(() => undefined);
    const record = job && (await comfy.load(req.params.id));
    const view = job && (await viewOf(deps, job));
    if (!job || !record || !view || !FINISHED.has(view.status)) return void res.json({});
    res.json({ [req.params.id]: historyEntry(job, view, record) });
  });

  router.get('/history', async (req, res) => {
    const max = Number(req.query.max_items ?? 200);
    const done = (await ownedPrompts(deps, comfy, principalOf(req))).filter((p) => FINISHED.has(p.view.status));
    const shown = done.slice(0, Number.isInteger(max) && max > 0 ? max : 200).reverse();
    res.json(Object.fromEntries(shown.map((p) => [p.id, historyEntry(p.job, p.view, p.record)])));
  });
}

/** GET and POST /queue, POST /interrupt: the key's unfinished prompts, and canceling them. */
function queueRoutes(router: Router, deps: LiveAppDeps, comfy: ComfyStore, body: RequestHandler) {
  router.get('/queue', async (req, res) => {
    const prompts = (await ownedPrompts(deps, comfy, principalOf(req))).reverse();
    res.json({
      queue_running: prompts.filter(isRunning).map((p) => queueItem(p.id, p.record)),
      queue_pending: prompts.filter(isPending).map((p) => queueItem(p.id, p.record)),
    });
  });

  router.post('/queue', body, async (req, res) => {
    const parsed = comfyQueueRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw invalidPrompt({}, 'invalid_request');
    const prompts = await ownedPrompts(deps, comfy, principalOf(req));
    const chosen = parsed.data.clear
      ? prompts.filter(isPending)
      : prompts.filter((p) => parsed.data.delete?.includes(p.id));
    await cancel(
      deps,
      chosen.filter((p) => !FINISHED.has(p.view.status)),
    );
    res.status(200).end();
  });

  router.post('/interrupt', body, async (req: Request, res) => {
    const parsed = comfyInterruptRequestSchema.safeParse(req.body ?? {});
    const only = parsed.success ? parsed.data.prompt_id : undefined;
    const running = (await ownedPrompts(deps, comfy, principalOf(req))).filter(isRunning);
    await cancel(
      deps,
      running.filter((p) => !only || p.id === only),
    );
    res.status(200).end();
  });
}
