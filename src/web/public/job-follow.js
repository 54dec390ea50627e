// @ts-check
// Follows a job to its end through its event stream (GET /v1/jobs/{id}/events: `status` on each
// change, `progress`, and a final `job` with the whole job object).

import { api, authHeaders, getApiKey, ApiError } from './api-client.js';
import { sleep } from './dom.js';
import { readEventStream, StreamRefused } from './sse-reader.js';

/** @import { JobView, JobStatus, JobProgress } from './page-types.js' */

/** @type {ReadonlySet<string>} */
export const FINAL = new Set(['succeeded', 'failed', 'canceled']);
/** Polling is only the fallback for a stream that fails, so it can be slow. */
const SLOW_POLL_MS = 2000;
/** Failed connections in a row before the stream is given up for polling. */
const STREAM_RETRIES = 3;
/** Pause before the fetch reader reconnects; the server asks EventSource for the same (`retry`). */
const RECONNECT_MS = 2000;
/**
 * Streams open at once. Over HTTP/1.1 a browser opens at most 6 connections to a server, and each
 * stream holds one until its job ends: jobs waiting in a long queue must not leave none for the
 * page's requests (a submission, a cancel, the images). Jobs beyond this are polled until a
 * stream is free.
 */
const MAX_STREAMS = 4;
let openStreams = 0;
const EVENT_NAMES = ['status', 'progress', 'job'];

/**
 * @typedef {object} Follower
 * @property {(view: JobView) => void} onView each newer state of the job
 * @property {(err: ApiError) => void} onTrouble the server cannot be reached for now (it is retried)
 * @property {AbortSignal} signal stops following (the job's end came another way, e.g. a cancel)
 */

/**
 * Follows `job` until it is final, `signal` aborts, or the API answers 4xx (rejects with that
 * ApiError). Without an API key it uses EventSource, which reconnects by itself and resumes with
 * `Last-Event-ID`. EventSource cannot send the `Authorization` header that the events route needs
 * once keys are configured (and a key in the URL would end up in logs and browser history), so
 * with a key the same stream is read with fetch(), which resumes the same way. The page polls
 * GET /v1/jobs/{id}, slowly, only while no stream is free (see MAX_STREAMS) or once it failed.
 * @param {JobView} job
 * @param {Follower} follower
 */
export async function followJob(job, { onView, onTrouble, signal }) {
  let view = job;
  /** Applies one event; true once the job is over. @type {(name: string, data: string) => boolean} */
  const onEvent = (name, data) => {
    const next = applyEvent(view, name, JSON.parse(data));
    if (next === view) return false;
    view = next;
    onView(view);
    return name === 'job';
  };
  const url = `/v1/jobs/${encodeURIComponent(view.id)}/events`;
  let streamFailed = false;
  let misses = 0;
  while (!FINAL.has(view.status) && !signal.aborted) {
    if (!streamFailed && openStreams < MAX_STREAMS) {
      openStreams += 1;
      try {
        const stream = getApiKey()
          ? followWithFetch(url, onEvent, signal)
          : followWithEventSource(url, onEvent, signal);
        streamFailed = (await stream) === 'failed';
      } finally {
        openStreams -= 1;
      }
      continue;
    }
    try {
      view = await api(`/v1/jobs/${encodeURIComponent(view.id)}`);
      misses = 0;
      onView(view);
      if (FINAL.has(view.status)) return;
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status >= 400 && err.status < 500)) throw err;
      misses += 1;
      onTrouble(err);
      await sleep(Math.min(5000, 500 * misses));
    }
    await sleep(SLOW_POLL_MS);
  }
}

/**
 * The job after one event of its stream (the same object when nothing shown changes).
 * @param {JobView} view
 * @param {string} name
 * @param {any} data
 * @returns {JobView}
 */
function applyEvent(view, name, data) {
  switch (name) {
    case 'status':
      // A final status is followed at once by the `job` event, which has the result: wait for it.
      return FINAL.has(data.status) ? view : { ...view, status: /** @type {JobStatus} */ (data.status) };
    case 'progress': {
      const { value, step, steps } = /** @type {JobProgress} */ (data);
      return { ...view, progress: value, step, steps };
    }
    case 'job':
      return /** @type {JobView} */ (data);
    default:
      return view;
  }
}

/**
 * @param {string} url
 * @param {(name: string, data: string) => boolean} onEvent
 * @param {AbortSignal} signal
 * @returns {Promise<'ended' | 'failed'>}
 */
function followWithEventSource(url, onEvent, signal) {
  return new Promise((resolve) => {
    const source = new EventSource(url);
    let breaks = 0;
    /** @param {'ended' | 'failed'} outcome */
    const finish = (outcome) => {
      source.close();
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish('ended');
    signal.addEventListener('abort', onAbort);
    source.addEventListener('open', () => (breaks = 0));
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (event) => {
        if (onEvent(name, /** @type {MessageEvent<string>} */ (event).data)) finish('ended');
      });
    }
    // CONNECTING: it reconnects by itself. CLOSED: it gave up (an error answer, or 204 after the end).
    source.addEventListener('error', () => {
      breaks += 1;
      if (source.readyState === EventSource.CLOSED || breaks > STREAM_RETRIES) finish('failed');
    });
  });
}

/**
 * @param {string} url
 * @param {(name: string, data: string) => boolean} onEvent
 * @param {AbortSignal} signal
 * @returns {Promise<'ended' | 'failed'>}
 */
async function followWithFetch(url, onEvent, signal) {
  let lastEventId = '';
  let ended = false;
  let breaks = 0;
  while (!signal.aborted) {
    try {
      await readEventStream(url, {
        headers: authHeaders(),
        lastEventId,
        signal,
        onOpen: () => (breaks = 0),
        onEvent: (name, data, id) => {
          lastEventId = id;
          return (ended = onEvent(name, data));
        },
      });
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof StreamRefused) return 'failed';
    }
    if (ended) return 'ended';
    // The connection broke or the stream ended early: resume where it stopped, as EventSource would.
    breaks += 1;
    if (breaks > STREAM_RETRIES) return 'failed';
    await sleep(RECONNECT_MS);
  }
  return 'ended';
}
