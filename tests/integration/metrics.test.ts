import sharp from 'sharp';
import { postJson, requestJson } from '../helpers/api-client';
import { freePort } from '../helpers/redis-server';
import { ADMIN_PASSWORD, startStack, type Stack } from '../helpers/stack';

/**
 * GET /metrics on the API: its own request timings, queue sizes and workers read at scrape time,
 * and the job and inference metrics the worker processes push through Redis. Also: log lines
 * about a job carry its id and the id of the request that submitted it, in both processes.
 */
let stack: Stack;
beforeAll(async () => {
  // debug on the worker: its per-job "job started" line is a debug line.
  stack = await startStack({ workerEnv: { LOG_LEVEL: 'debug' } });
});
afterAll(async () => {
  await stack?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, parsed: samples and the declared type of each family. */
function parseMetrics(text: string): { samples: Sample[]; types: Record<string, string> } {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types[type[1]] = type[2];
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types };
}

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const valueOf = (samples: Sample[], name: string, labels: Record<string, string>) => {
  const found = find(samples, name, labels);
  if (found.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
};

async function scrape(url = stack.url) {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await res.text());
}

/** Scrapes until `ready` holds (workers push every 2 s, the API reads the worker list at most every 2 s), or 30 s. */
async function scrapeUntil(ready: (samples: Sample[]) => boolean) {
  const deadline = Date.now() + 30_000;
  let parsed = await scrape();
  while (!ready(parsed.samples) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    parsed = await scrape();
  }
  return parsed;
}

const jobIds: Record<string, string> = {};

test('jobs of each kind run to the end (with Prefer: wait), carrying the request id', async () => {
  const gen = await postJson(
    `${stack.url}/v1/generations`,
    { model: 'demo-cppn', n: 4 },
    { prefer: 'wait=60', 'x-request-id': 'metrics-request-1' },
  );
  expect(gen.status).toBe(200);
  expect(gen.headers.get('x-request-id')).toBe('metrics-request-1');
  jobIds.cppn = gen.body.id;
  const diffusion = await postJson(
    `${stack.url}/v1/generations`,
    { model: 'demo-diffusion', steps: 4, width: 64, height: 64 },
    { prefer: 'wait=60' },
  );
  expect(diffusion.status).toBe(200);
  const red = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 230, g: 10, b: 10 } } })
    .png()
    .toBuffer();
  const cls = await postJson(
    `${stack.url}/v1/classifications`,
    { model: 'demo-colors', images: [red.toString('base64')] },
    { prefer: 'wait=60' },
  );
  expect(cls.status).toBe(200);
  for (const res of [gen, diffusion, cls]) expect(res.body.status).toBe('succeeded');
  expect((await requestJson(`${stack.url}/v1/jobs/${gen.body.id}`)).status).toBe(200);
  expect((await requestJson(`${stack.url}/v1/jobs/gen_00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  expect((await requestJson(`${stack.url}/no/such/page`)).status).toBe(404);
});

test('log lines about a job carry jobId and requestId, in the API and in the worker', async () => {
  const id = jobIds.cppn;
  const apiLine = await stack.api.waitForLog(
    (l: any) => l.req?.id === 'metrics-request-1' && l.req?.url === '/v1/generations',
    10_000,
  );
  expect(apiLine.res).toMatchObject({ statusCode: 200 });
  const worker = stack.workers[0];
  const started = await worker.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 10_000);
  expect(started).toMatchObject({ requestId: 'metrics-request-1', queue: 'generation', role: 'worker' });
  const succeeded = await worker.waitForLog((l) => l.msg === 'job succeeded' && l.jobId === id, 10_000);
  expect(succeeded.requestId).toBe('metrics-request-1');
});

test("/metrics shows queue sizes, the fleet's job, inference and image metrics, HTTP timings by route and the workers", async () => {
  const { samples, types } = await scrapeUntil(
    (s) => find(s, 'darkroom_job_run_seconds_count', { job_type: 'classification' }).length > 0,
  );
  expect(types).toMatchObject({
    darkroom_jobs: 'gauge',
    darkroom_workers: 'gauge',
    darkroom_worker_slots: 'gauge',
    darkroom_http_request_duration_seconds: 'histogram',
    darkroom_job_wait_seconds: 'histogram',
    darkroom_job_run_seconds: 'histogram',
    darkroom_inference_batch_size: 'histogram',
    darkroom_inference_seconds: 'histogram',
    darkroom_images_produced_total: 'counter',
  });

  expect(valueOf(samples, 'darkroom_jobs', { queue: 'generation', state: 'completed' })).toBe(2);
  expect(valueOf(samples, 'darkroom_jobs', { queue: 'classification', state: 'completed' })).toBe(1);
  expect(valueOf(samples, 'darkroom_jobs', { queue: 'generation', state: 'active' })).toBe(0);
  expect(valueOf(samples, 'darkroom_workers', { provider: 'cpu' })).toBe(1);
  expect(valueOf(samples, 'darkroom_worker_slots', { queue: 'generation' })).toBe(8);

  // One job per model: one wait and one run observed each, with plausible sums.
  for (const [jobType, model] of [
    ['generation', 'demo-cppn'],
    ['generation', 'demo-diffusion'],
    ['classification', 'demo-colors'],
  ]) {
    expect(valueOf(samples, 'darkroom_job_wait_seconds_count', { job_type: jobType, model })).toBe(1);
    expect(valueOf(samples, 'darkroom_job_run_seconds_count', { job_type: jobType, model, outcome: 'succeeded' })).toBe(
      1,
    );
    const run = valueOf(samples, 'darkroom_job_run_seconds_sum', { job_type: jobType, model, outcome: 'succeeded' });
    expect(run).toBeGreaterThan(0);
    expect(run).toBeLessThan(60);
    const buckets = find(samples, 'darkroom_job_run_seconds_bucket', {
      job_type: jobType,
      model,
      outcome: 'succeeded',
    }).map((s) => s.value);
    expect(buckets.length).toBeGreaterThan(5);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b)); // cumulative
    expect(
      valueOf(samples, 'darkroom_job_run_seconds_bucket', {
        job_type: jobType,
        model,
        outcome: 'succeeded',
        le: '+Inf',
      }),
    ).toBe(1);
  }

  // demo-cppn ran 4 single-image requests; the diffusion UNet ran 4 steps.
  expect(valueOf(samples, 'darkroom_inference_batch_size_sum', { model: 'demo-cppn' })).toBe(4);
  expect(valueOf(samples, 'darkroom_inference_batch_size_count', { model: 'demo-cppn' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(samples, 'darkroom_inference_batch_size_count', { model: 'demo-diffusion/unet' })).toBe(4);
  expect(valueOf(samples, 'darkroom_inference_seconds_count', { model: 'demo-colors' })).toBe(1);
  expect(valueOf(samples, 'darkroom_images_produced_total', { job_type: 'generation', model: 'demo-cppn' })).toBe(4);
  expect(valueOf(samples, 'darkroom_images_produced_total', { job_type: 'generation', model: 'demo-diffusion' })).toBe(
    1,
  );
  expect(find(samples, 'darkroom_images_produced_total', { model: 'demo-colors' })).toEqual([]);

  // HTTP timings carry the route pattern, never a raw URL or job id.
  const http = (labels: Record<string, string>) =>
    valueOf(samples, 'darkroom_http_request_duration_seconds_count', labels);
  expect(http({ method: 'POST', route: '/v1/generations', status_code: '200' })).toBe(2);
  expect(http({ method: 'POST', route: '/v1/classifications', status_code: '200' })).toBe(1);
  expect(http({ method: 'GET', route: '/v1/jobs/:id', status_code: '200' })).toBeGreaterThanOrEqual(1);
  expect(http({ method: 'GET', route: '/v1/jobs/:id', status_code: '404' })).toBe(1);
  expect(http({ method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
  const routes = new Set(find(samples, 'darkroom_http_request_duration_seconds_count', {}).map((s) => s.labels.route));
  expect([...routes].filter((r) => /gen_|cls_|no\/such/.test(r))).toEqual([]);
});

test('a worker can serve its own /metrics too (WORKER_METRICS_PORT)', async () => {
  const port = await freePort();
  const worker = await stack.addWorker({ WORKER_METRICS_PORT: String(port) });
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 2 }, { prefer: 'wait=60' });
  expect(res.status).toBe(200);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const { types } = parseMetrics(text);
  expect(types).toMatchObject({
    darkroom_job_run_seconds: 'histogram',
    darkroom_inference_batch_size: 'histogram',
    process_cpu_user_seconds_total: 'counter',
  });
  const fleet = await scrapeUntil((s) => find(s, 'darkroom_workers', { provider: 'cpu' })[0]?.value === 2);
  expect(valueOf(fleet.samples, 'darkroom_workers', { provider: 'cpu' })).toBe(2);
  await worker.stop();
  stack.workers.splice(stack.workers.indexOf(worker), 1);
  // A stopped worker leaves the fleet, and its counts stay in the totals.
  const after = await scrapeUntil(
    (s) =>
      find(s, 'darkroom_workers', { provider: 'cpu' })[0]?.value === 1 &&
      find(s, 'darkroom_images_produced_total', { model: 'demo-cppn' })[0]?.value === 6,
  );
  expect(valueOf(after.samples, 'darkroom_workers', { provider: 'cpu' })).toBe(1);
  expect(valueOf(after.samples, 'darkroom_images_produced_total', { job_type: 'generation', model: 'demo-cppn' })).toBe(
    6,
  );
});

test('with METRICS_PUBLIC=false, /metrics needs the admin credentials', async () => {
  const locked = await startStack({ noWorkers: true, env: { METRICS_PUBLIC: 'false' } });
  try {
    const denied = await fetch(`${locked.url}/metrics`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Basic');
    const auth = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` };
    const allowed = await fetch(`${locked.url}/metrics`, { headers: auth });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('darkroom_jobs{queue="generation",state="waiting"} 0');
  } finally {
    await locked.stop();
  }
});
