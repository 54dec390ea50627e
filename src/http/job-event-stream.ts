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

export async function streamJobEvents(deps: LiveAppDeps, req: Request, res: Response, job: DarkroomJob): Promise<void> {
  const id = String(job.id);
  const early: JobEvent[] = [];
  let deliver: (event: JobEvent) => void = (event) => early.push(event);
  // Subscribed before anything is read, so no event falls between the read and the stream.
  const unsubscribe = await deps.events.subscribe(id, (event) => deliver(event));
  let cursor: string;
  let replayed: JobEvent[] | undefined;
  let snapshot: JobView | undefined;
  try {
    const lastId = lastEventIdOf(req);
    replayed = lastId ? await deps.events.replay(id, lastId) : undefined;
    if (lastId && replayed) {
      cursor = lastId;
      // Nothing new and the job is over: the client has had its final event. 204 stops an EventSource from reconnecting.
      if (!replayed.length && FINAL.has((await viewOf(deps, job)).status)) {
        unsubscribe();
        res.status(204).end();
        return;
      }
    } else {
      cursor = await deps.events.latestId(id);
      snapshot = await viewOf(deps, (await deps.queues.getJob(id)) ?? job);
    }
  } catch (err) {
    unsubscribe();
    throw err;
  }

  const session = await createSession(req, res, { keepAlive: deps.config.SSE_HEARTBEAT_SECONDS * 1000, retry: 2000 });
  let ended = false;
  let lastStatus: JobView['status'] | undefined;
  let lastProgress = -1;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    deps.events.closing.removeEventListener('abort', end);
    res.end();
  };
  session.once('disconnected', end);
  deps.events.closing.addEventListener('abort', end);
  const push = (data: unknown, name: string, eventId: string) => {
    if (!ended && session.isConnected) session.push(data, name, eventId);
  };
  const pushStatus = (status: JobView['status'], eventId: string) => {
    if (status === lastStatus) return;
    lastStatus = status;
    lastProgress = -1;
    push({ status }, 'status', eventId);
  };
  const finish = async (eventId: string) => {
    const view = await viewOf(deps, (await deps.queues.getJob(id)) ?? job);
    pushStatus(view.status, eventId);
    push(view, 'job', eventId);
    end();
  };
  const handle = async (event: JobEvent) => {
    if (ended || compareStreamIds(event.id, cursor) <= 0) return;
    cursor = event.id;
    switch (event.kind) {
      case 'status':
        return pushStatus(event.status, event.id);
      case 'progress':
        // Within an attempt progress only grows; a snapshot may already have shown this value.
        if (event.progress.value <= lastProgress) return;
        lastProgress = event.progress.value;
        return push(event.progress, 'progress', event.id);
      case 'finished':
        return finish(event.id);
      case 'removed':
        return end();
    }
  };

  // One event at a time, in stream order, even though finishing reads the job.
  let chain = Promise.resolve();
  const enqueue = (event: JobEvent) => {
    chain = chain
      .then(() => handle(event))
      .catch((err) => {
        deps.logger.warn({ jobId: id, err: (err as Error).message }, 'job event stream failed');
        end();
      });
  };
  if (snapshot) {
    pushStatus(snapshot.status, cursor);
    if (snapshot.status === 'running' && snapshot.progress > 0) {
      lastProgress = snapshot.progress;
      push({ value: snapshot.progress, step: snapshot.step, steps: snapshot.steps }, 'progress', cursor);
    }
    if (FINAL.has(snapshot.status)) {
      push(snapshot, 'job', cursor);
      return end();
    }
  }
  for (const event of replayed ?? []) enqueue(event);
  for (const event of early.splice(0)) enqueue(event);
  deliver = enqueue;
}
