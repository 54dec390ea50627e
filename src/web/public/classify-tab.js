// @ts-check
// The Classify tab: each image dropped gets its top labels.

import { $, el, percent } from './dom.js';
import { onlyImages, submitUpload, wireDropzone } from './file-drop.js';
import { clearErrors, showFormError } from './form-errors.js';
import { createJobCard, track } from './job-card.js';
import { modelByName } from './model-list.js';

/** @import { Prediction } from './page-types.js' */

/** @type {HTMLSelectElement} */
export const clsModel = $('#cls-model');
/** @type {HTMLInputElement} */
const clsTopK = $('#cls-topk');
const clsJobs = $('#cls-jobs');
clsModel.addEventListener('change', () => {
  $('#cls-model-desc').textContent = modelByName(clsModel.value)?.description ?? '';
  clearErrors('cls');
});

/** @param {Prediction['labels']} labels */
function labelList(labels) {
  return el(
    'ol',
    { class: 'labels' },
    labels.map((l) => {
      const fill = el('span', { class: 'fill' });
      fill.style.width = `${Math.max(0.5, l.score * 100)}%`;
      return el(
        'li',
        {},
        el('span', { class: 'label-name', text: l.label }),
        el('span', { class: 'score-bar', 'aria-hidden': 'true' }, fill),
        el('span', { class: 'score', text: percent(l.score) }),
      );
    }),
  );
}

/** @param {File[]} files */
export async function classify(files) {
  clearErrors('cls');
  const images = onlyImages(files);
  if (!images.length)
    return showFormError('cls', { message: 'None of those files is an image.', code: 'not_an_image' });
  if (!clsModel.value)
    return showFormError('cls', { message: 'No classifier model is loaded on this server.', code: 'no_model' });
  const card = createJobCard(clsJobs, {
    title: `${clsModel.value} · ${images.length} image${images.length > 1 ? 's' : ''}`,
    subtitle: images.map((f) => f.name).join(', '),
  });
  const rows = images.map((file) => {
    const thumb = el('img', { src: URL.createObjectURL(file), alt: file.name });
    const slot = el('div', { class: 'labels-slot' }, el('div', { class: 'labels-placeholder', 'aria-hidden': 'true' }));
    return {
      slot,
      node: el(
        'li',
        { class: 'prediction' },
        el('figure', {}, el('div', { class: 'thumb' }, thumb), el('figcaption', { class: 'muted', text: file.name })),
        slot,
      ),
    };
  });
  card.body.append(
    el(
      'ul',
      { class: 'predictions' },
      rows.map((r) => r.node),
    ),
  );
  const job = await submitUpload(
    'cls',
    '/v1/classifications',
    card,
    { model: clsModel.value, top_k: clsTopK.value || '5' },
    images,
  );
  if (!job) return;
  void track(card, job, (view) => {
    for (const prediction of view.result?.predictions ?? [])
      rows[prediction.index]?.slot.replaceChildren(labelList(prediction.labels));
  }).finally(() => {
    if (card.view.status !== 'succeeded') for (const row of rows) row.slot.replaceChildren();
  });
}
wireDropzone($('#cls-files'), (files) => void classify(files));
