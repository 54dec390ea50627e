import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { sleep } from './process-launcher';

/** What one closed-loop request produced: images, and its latencies in ms. */
export interface RequestOutcome {
  images: number;
  latencyMs: number;
  /** darkroom only: submit -> the job's finish time in Redis (no polling delay). */
  readyMs?: number;
  /** darkroom only: GET /v1/jobs/{id} requests the client made. */
  polls?: number;
}

export interface ClosedLoopResult {
  clients: number;
  seconds: number;
  requests: number;
  images: number;
  errors: number;
  firstError?: string;
  latencies: number[];
  ready: number[];
  /** Polls of the requests counted. */
  polls: number;
}

/**
 * N clients, each sending its next request as soon as the previous one finished. Requests that
 * finish during the warm-up are not counted. The measured window lasts `measureMs`, longer if
 * fewer than `minRequests` requests finished in it (slow model, busy machine), up to 4x; a
 * request finishing after the window closed is not counted, and nothing new starts after it.
 */
export async function runClosedLoop(
  clients: number,
  warmupMs: number,
  measureMs: number,
  request: (client: number, seq: number) => Promise<RequestOutcome>,
  minRequests = 0,
): Promise<ClosedLoopResult> {
  const start = performance.now();
  const from = start + warmupMs;
  const until = from + measureMs;
  const hardUntil = from + 4 * measureMs;
  let closedAt: number | undefined;
  const result: ClosedLoopResult = {
    clients,
    seconds: 0,
    requests: 0,
    images: 0,
    errors: 0,
    latencies: [],
    ready: [],
    polls: 0,
  };
  const open = (now: number) => {
    if (closedAt === undefined && now >= until && (result.requests >= minRequests || now >= hardUntil)) closedAt = now;
    return closedAt === undefined;
  };
  let seq = 0;
  const client = async (id: number) => {
    while (open(performance.now())) {
      try {
        const outcome = await request(id, seq++);
        const now = performance.now();
        if (now < from || !open(now)) continue;
        result.requests += 1;
        result.images += outcome.images;
        result.latencies.push(outcome.latencyMs);
        if (outcome.readyMs !== undefined) result.ready.push(outcome.readyMs);
        result.polls += outcome.polls ?? 0;
      } catch (err) {
        result.errors += 1;
        result.firstError ??= (err as Error).message;
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  result.seconds = ((closedAt ?? performance.now()) - from) / 1000;
  return result;
}

export interface OpenLoopResult {
  sent: number;
  errors: number;
  firstError?: string;
  /** Error messages (first 100 characters) and how often each was seen. */
  errorKinds: Record<string, number>;
  /** From the time each request was scheduled (includes any lateness of the sender). */
  fromSchedule: number[];
  /** From the time each request was really sent. */
  fromSend: number[];
  /** How late the sender was at worst (ms). */
  maxLateness: number;
}

/**
 * Open loop: request i is scheduled at i / rate seconds and sent then, whether or not earlier
 * ones have answered, so a slow server cannot slow the offered load down.
 */
export async function runOpenLoop(
  rate: number,
  seconds: number,
  send: (i: number) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<OpenLoopResult> {
  const total = Math.round(rate * seconds);
  const result: OpenLoopResult = { sent: 0, errors: 0, errorKinds: {}, fromSchedule: [], fromSend: [], maxLateness: 0 };
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total && !shouldStop(); i++) {
    const scheduled = start + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    const sentAt = performance.now();
    result.maxLateness = Math.max(result.maxLateness, sentAt - scheduled);
    result.sent += 1;
    inFlight.push(
      send(i).then(
        () => {
          const done = performance.now();
          result.fromSchedule.push(done - scheduled);
          result.fromSend.push(done - sentAt);
        },
        (err: Error) => {
          const kind = `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`.slice(0, 100);
          result.errors += 1;
          result.firstError ??= kind;
          result.errorKinds[kind] = (result.errorKinds[kind] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return result;
}

/** GET `url` at `rate` per second (open loop) from a thread of its own until stopped; resolves with the latencies. */
export function startProbe(url: string, rate: number): { stop(): Promise<OpenLoopResult> } {
  const thread = new Worker(path.join(__dirname, 'health-probe-thread.js'), { workerData: { url, rate } });
  const result = new Promise<OpenLoopResult>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  return {
    async stop() {
      thread.postMessage('stop');
      try {
        return await result;
      } finally {
        await thread.terminate();
      }
    },
  };
}
