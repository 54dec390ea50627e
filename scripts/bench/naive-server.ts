import express, { type ErrorRequestHandler } from 'express';
import type { Server } from 'node:http';
import type { InlineModel, WorkItem } from './inline-model';
import { loadInlineModel } from './inline-models';

/**
 * The naive server darkroom is compared with: one Express process that decodes the upload and
 * runs the model inside the request handler (`await session.run` on the main thread, no queue,
 * no worker). Started by the benchmark as a child process:
 *
 *   NAIVE_PORT=4000 NAIVE_MODELS=mobilenetv2-12-int8,omori-sprite-gan node dist/scripts/bench/naive-server.js
 */

async function run(model: InlineModel, items: WorkItem[]): Promise<unknown[]> {
  const prepared = await model.prepare(items);
  const inferred = await prepared.infer();
  return inferred.finish();
}

async function main() {
  const port = Number(process.env.NAIVE_PORT ?? 0);
  const names = (process.env.NAIVE_MODELS ?? '').split(',').filter(Boolean);
  const models = new Map<string, InlineModel>();
  for (const name of names) models.set(name, await loadInlineModel(name));
  const modelOf = (name: unknown) => {
    const model = models.get(String(name));
    if (!model) throw Object.assign(new Error(`unknown model ${String(name)}`), { status: 422 });
    return model;
  };

  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.post('/classify', express.raw({ type: () => true, limit: '20mb' }), async (req, res) => {
    const predictions = await run(modelOf(req.query.model), [{ image: req.body as Buffer, seed: 0, prompt: '' }]);
    res.json({ predictions });
  });
  app.post('/generate', express.json(), async (req, res) => {
    const body = req.body as { model?: string; n?: number; seed?: number; prompt?: string };
    const n = Math.max(1, Math.min(16, body.n ?? 1));
    const items = Array.from({ length: n }, (_, i) => ({ seed: (body.seed ?? 0) + i, prompt: body.prompt ?? '' }));
    const images = (await run(modelOf(body.model), items)) as Buffer[];
    res.json({ images: images.map((b) => b.toString('base64')) });
  });
  const onError: ErrorRequestHandler = (err: Error & { status?: number }, _req, res, _next) => {
    res.status(err.status ?? 500).json({ error: { message: err.message } });
  };
  app.use(onError);

  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  process.stdout.write(`naive server listening on ${port} with ${names.join(', ')}\n`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void Promise.all([...models.values()].map((m) => m.close())).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`naive server failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
