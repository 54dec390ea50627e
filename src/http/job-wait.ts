import { isCancelRequested } from '../jobs/job-cancellation';
import type { LiveAppDeps } from './app-deps';

type WaitDeps = Pick<LiveAppDeps, 'events' | 'queues' | 'redis' | 'config'>;

const FINISHED_STATES = new Set(['completed', 'failed']);
/** States in which a cancel request alone makes the job canceled (see statusOf): no worker holds it. */
const WAITING_STATES = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/**
 * How often a wait also looks at the job itself: in case an event was missed (e.g. while Redis
 * reconnected), and for a queued job canceled meanwhile, which writes no event until a worker
 * takes it. Waits otherwise cost Redis nothing: they listen to the event hub's shared reader.
 */
const RECHECK_MS = 5000;

/** Whether the job is over as clients see it: gone, finished, or canceled while still in line. */
async function hasEnded(deps: WaitDeps, id: string): Promise<boolean> {
  const job = await deps.queues.getJob(id);
  if (!job) return true;
  const state = await job.getState();
  if (FINISHED_STATES.has(state)) return true;
  return WAITING_STATES.has(state) && (await isCancelRequested(deps.redis, deps.config.redis.prefix, id));
}

/**
 * Resolves true once the job has ended, false after `timeoutMs`, when `signal` aborts (the client
 * went away) or when the event hub closes (shutdown).
 */
export async function waitForJobEnd(
  deps: WaitDeps,
  id: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  let settle!: (ended: boolean) => void;
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const unsubscribe = await deps.events.subscribe(id, (event) => {
    if (event.kind === 'finished' || event.kind === 'removed') settle(true);
  });
  const onAbort = () => settle(false);
  signal.addEventListener('abort', onAbort);
  deps.events.closing.addEventListener('abort', onAbort);
  const deadline = setTimeout(() => settle(false), timeoutMs);
  const recheck = setInterval(
    () =>
      void hasEnded(deps, id).then(
        (ended) => ended && settle(true),
        () => undefined,
      ),
    RECHECK_MS,
  );
  try {
    if (signal.aborted) settle(false);
    // Subscribed first, then looked: a job that ended in between is seen here, one that ends later by the listener.
    else if (await hasEnded(deps, id)) settle(true);
    return await done;
  } finally {
    clearTimeout(deadline);
    clearInterval(recheck);
    signal.removeEventListener('abort', onAbort);
    deps.events.closing.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}
