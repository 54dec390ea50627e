// @ts-expect-error TS1479: better-sse publishes ESM-only types (.d.mts) beside the CommonJS build that this require loads.
import { createSession } from 'better-sse';
import type { Request, Response } from 'express';
import { compareStreamIds, isStreamId, type JobEvent } from '../jobs/job-event';
import type { DarkroomJob } from '../jobs/job-queues';
import type { JobView } from '../jobs/job-view';
import type { LiveAppDeps } from './app-deps';
import { viewOf } from './job-lookup';

/**
 * A job's life as server-sent events: `status` on each change, `progress` ({ value, step, steps }),
 * and a final `job` (the whole job object), after which the stream ends. Event ids are the Redis
 * stream ids of BullMQ's queue events, so a client that reconnects with `Last-Event-ID` is sent
 * exactly the events of this job it missed, replayed from the stream.
 */

const FINAL = new Set<JobView['status']>(['succeeded', 'failed', 'canceled']);

/** The client's resume point: the `Last-Event-ID` header (or `lastEventId` query), when it is one of our ids. */
function lastEventIdOf(req: Request): string | undefined {
  const given =
    req.get('last-event-id') ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined);
  return given && isStreamId(given.trim()) ? given.trim() : undefined;
}

/** Where the stream starts: after the client's last event (replaying what it missed), or at a snapshot. */
interface StartingPoint {
  cursor: string;
  replayed?: JobEvent[];
  snapshot?: JobView;
}

/** The starting point, or undefined when a reconnecting client has already had the job's final event. */
async function startingPoint(deps: LiveAppDeps, req: Request, job: DarkroomJob): Promise<StartingPoint | undefined> {
  const id = String(job.id);
  const lastId = lastEventIdOf(req);
  const replayed = lastId ? await deps.events.replay(id, lastId) : undefined;
  if (lastId && replayed) {
    if (!replayed.length && FINAL.has((await viewOf(deps, job)).status)) return undefined;
    return { cursor: lastId, replayed };
  }
  const cursor = await deps.events.latestId(id);
  return { cursor, snapshot: await viewOf(deps, (await deps.queues.getJob(id)) ?? job) };
}

export async function streamJobEvents(deps: LiveAppDeps, req: Request, res: Response, job: DarkroomJob): Promise<void> {
  const id = String(job.id);
  const early: JobEvent[] = [];
  let deliver: (event: JobEvent) => void = (event) => early.push(event);
  // Subscribed before anything is read, so no event falls between the read and the stream.
  const unsubscribe = await deps.events.subscribe(id, (event) => deliver(event));
  let start: StartingPoint | undefined;
  try {
    start = await startingPoint(deps, req, job);
  } catch (err) {
    unsubscribe();
    throw err;
  }
  if (!start) {
    // Nothing new and the job is over: the client has had its final event. 204 stops an EventSource from reconnecting.
    unsubscribe();
    res.status(204).end();
    return;
  }
  const session = await createSession(req, res, {
    keepAlive: deps.config.http.sseHeartbeatSeconds * 1000,
    retry: 2000,
  });
  const stream = new JobEventSession(deps, job, res, session, start.cursor, unsubscribe);
  if (start.snapshot && stream.showSnapshot(start.snapshot)) return;
  for (const event of start.replayed ?? []) stream.enqueue(event);
  for (const event of early.splice(0)) stream.enqueue(event);
  deliver = (event) => stream.enqueue(event);
}

type Session = Awaited<ReturnType<typeof createSession>>;

/** One client's stream of one job's events: status changes, growing progress, then the final job. */
class JobEventSession {
  private ended = false;
  private lastStatus: JobView['status'] | undefined;
  private lastProgress = -1;
  /** One event at a time, in stream order, even though finishing reads the job. */
  private chain = Promise.resolve();
  private readonly id: string;

  constructor(
    private readonly deps: LiveAppDeps,
    private readonly job: DarkroomJob,
    private readonly res: Response,
    private readonly session: Session,
    private cursor: string,
    private readonly unsubscribe: () => void,
  ) {
    this.id = String(job.id);
    session.once('disconnected', this.end);
    deps.events.closing.addEventListener('abort', this.end);
  }

  readonly end = () => {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    this.deps.events.closing.removeEventListener('abort', this.end);
    this.res.end();
  };

  /** Shows the job as it is now; true when it is already over (the stream has ended). */
  showSnapshot(snapshot: JobView): boolean {
    this.pushStatus(snapshot.status, this.cursor);
    if (snapshot.status === 'running' && snapshot.progress > 0) {
      this.lastProgress = snapshot.progress;
      this.push({ value: snapshot.progress, step: snapshot.step, steps: snapshot.steps }, 'progress', this.cursor);
    }
    if (!FINAL.has(snapshot.status)) return false;
    this.push(snapshot, 'job', this.cursor);
    this.end();
    return true;
  }

  enqueue(event: JobEvent) {
    this.chain = this.chain
      .then(() => this.handle(event))
      .catch((err) => {
        this.deps.logger.warn({ jobId: this.id, err: (err as Error).message }, 'job event stream failed');
        this.end();
      });
  }

  private push(data: unknown, name: string, eventId: string) {
    if (!this.ended && this.session.isConnected) this.session.push(data, name, eventId);
  }

  private pushStatus(status: JobView['status'], eventId: string) {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.lastProgress = -1;
    this.push({ status }, 'status', eventId);
  }

  private async finish(eventId: string) {
    const view = await viewOf(this.deps, (await this.deps.queues.getJob(this.id)) ?? this.job);
    this.pushStatus(view.status, eventId);
    this.push(view, 'job', eventId);
    this.end();
  }

  private async handle(event: JobEvent) {
    if (this.ended || compareStreamIds(event.id, this.cursor) <= 0) return;
    this.cursor = event.id;
    switch (event.kind) {
      case 'status':
        return this.pushStatus(event.status, event.id);
      case 'progress':
        // Within an attempt progress only grows; a snapshot may already have shown this value.
        if (event.progress.value <= this.lastProgress) return;
        this.lastProgress = event.progress.value;
        return this.push(event.progress, 'progress', event.id);
      case 'finished':
        return this.finish(event.id);
      case 'removed':
        return this.end();
    }
  }
}
