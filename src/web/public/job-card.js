// @ts-check
// A job card: title, status badge, progress bar, cancel button, error and result.

import { api } from './api-client.js';
import { el } from './dom.js';
import { FINAL, followJob } from './job-follow.js';

/** @import { CardView, JobView, ErrorBody } from './page-types.js' */

/** @type {Record<string, string>} */
const STATUS_LABEL = {
  uploading: 'uploading',
  queued: 'queued',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  canceled: 'canceled',
};

/** @param {HTMLElement} list */
function updateEmptyHint(list) {
  const hint = /** @type {HTMLElement | null} */ (document.querySelector(`[data-empty-for="${list.id}"]`));
  if (hint) hint.hidden = list.children.length > 0;
}

/** @param {CardView} view */
function describeProgress(view) {
  const pct = Math.round((view.progress ?? 0) * 100);
  switch (view.status) {
    case 'uploading':
      return 'Sending…';
    case 'queued':
      return 'Waiting for a worker…';
    case 'running':
      return view.steps ? `Step ${view.step} of ${view.steps} · ${pct}%` : pct ? `Working… ${pct}%` : 'Working…';
    case 'succeeded': {
      const ms = Date.parse(view.finished_at ?? '') - Date.parse(view.created_at ?? '');
      return Number.isFinite(ms) ? `Finished in ${(ms / 1000).toFixed(1)} s` : 'Finished';
    }
    case 'failed':
      return 'Failed';
    default:
      return 'Canceled';
  }
}

/**
 * @typedef {object} JobCard
 * @property {HTMLLIElement} node
 * @property {HTMLDivElement} body where the result goes
 * @property {HTMLDivElement} actions buttons and links beside the status
 * @property {CardView} view the state shown
 * @property {AbortSignal} finished aborts once the card shows a final state
 * @property {(next: CardView) => void} update
 * @property {(err: { message: string, code?: string }) => void} fail
 * @property {() => void} remove
 */

/**
 * Adds a card at the top of `list`, showing a submission on its way.
 * @param {HTMLElement} list
 * @param {{ title: string, subtitle?: string }} heading
 * @returns {JobCard}
 */
export function createJobCard(list, { title, subtitle }) {
  const badge = el('span', { class: 'badge', 'aria-live': 'polite' });
  const bar = el('div', { class: 'bar' });
  const progress = el(
    'div',
    {
      class: 'progress',
      role: 'progressbar',
      'aria-label': `Progress of ${title}`,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': 0,
    },
    bar,
  );
  const statusText = el('p', { class: 'status-text' });
  const cancel = el('button', { type: 'button', class: 'ghost small', hidden: true }, 'Cancel');
  const actions = el('div', { class: 'job-actions' }, cancel);
  const error = el('div', { class: 'job-error', role: 'alert', hidden: true });
  const body = el('div', { class: 'job-body' });
  const idText = el('code', { class: 'job-id' });
  const node = el(
    'li',
    { class: 'card job' },
    el(
      'header',
      { class: 'job-head' },
      el(
        'div',
        { class: 'job-titles' },
        el('h3', { class: 'job-title', text: title }),
        subtitle ? el('p', { class: 'job-sub', text: subtitle }) : null,
      ),
      badge,
    ),
    progress,
    el('div', { class: 'job-meta' }, statusText, idText, actions),
    error,
    body,
  );
  list.prepend(node);
  updateEmptyHint(list);

  /** @type {CardView} */
  let view = { status: 'uploading', progress: 0 };
  const finished = new AbortController();
  /** @type {JobCard} */
  const card = {
    node,
    body,
    actions,
    get view() {
      return view;
    },
    finished: finished.signal,
    update(next) {
      view = next;
      node.dataset.status = view.status;
      if (view.id) node.dataset.jobId = idText.textContent = view.id;
      badge.textContent = STATUS_LABEL[view.status] ?? view.status;
      badge.dataset.status = view.status;
      const pct = Math.round((view.progress ?? 0) * 100);
      bar.style.width = `${pct}%`;
      progress.setAttribute('aria-valuenow', String(pct));
      // No measurable progress yet: show motion rather than an empty bar.
      progress.classList.toggle(
        'waiting',
        view.status === 'queued' || view.status === 'uploading' || (view.status === 'running' && pct === 0),
      );
      statusText.textContent = describeProgress(view);
      cancel.hidden = !view.id || FINAL.has(view.status);
      // A cancel is the user's own doing: the status says it, no red box.
      if (view.status === 'failed' && view.error) card.fail(view.error);
      else error.hidden = true;
      if (FINAL.has(view.status)) finished.abort();
    },
    fail(err) {
      error.replaceChildren(
        el('p', { class: 'error-message', text: err.message }),
        el('p', { class: 'error-code', text: err.code }),
      );
      error.hidden = false;
    },
    remove() {
      node.remove();
      updateEmptyHint(list);
    },
  };
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      card.update(await api(`/v1/jobs/${encodeURIComponent(view.id ?? '')}`, { method: 'DELETE' }));
    } catch (err) {
      // 409: it finished meanwhile; the event stream shows how.
      if (/** @type {{ status?: number }} */ (err).status !== 409) card.fail(/** @type {ErrorBody} */ (err));
    } finally {
      cancel.disabled = false;
    }
  });
  card.update(view);
  return card;
}

/**
 * Shows `job` on `card` until it is final, then hands the final view to `onSuccess` if it succeeded.
 * @param {JobCard} card
 * @param {JobView} job
 * @param {(view: JobView) => void} onSuccess
 */
export async function track(card, job, onSuccess) {
  card.update(job);
  try {
    await followJob(job, {
      onView: (view) => card.update(view),
      onTrouble: (err) => card.fail({ message: `${err.message}; retrying…`, code: err.code }),
      signal: card.finished,
    });
  } catch (err) {
    return card.fail(/** @type {ErrorBody} */ (err));
  }
  const { view } = card;
  if (view.status === 'succeeded') onSuccess(/** @type {JobView} */ (view));
}
