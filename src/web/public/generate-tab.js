// @ts-check
// The Generate tab: text (or seed) to images.

import { api } from './api-client.js';
import { $, el } from './dom.js';
import { clearErrors, showFormError } from './form-errors.js';
import { createJobCard, track } from './job-card.js';
import { placeholderTiles, renderGallery } from './job-gallery.js';
import { applyRange, fillOptions, formatLabel, modelByName } from './model-list.js';

/** @import { JobView } from './page-types.js' */

/** @type {HTMLFormElement} */
const genForm = $('#gen-form');
/** @type {HTMLSelectElement} */
export const genModel = $('#gen-model');
/** @type {HTMLTextAreaElement} */
const genPrompt = $('#gen-prompt');
/** @type {HTMLInputElement} */
const genN = $('#gen-n');
/** @type {HTMLInputElement} */
const genWidth = $('#gen-width');
/** @type {HTMLInputElement} */
const genHeight = $('#gen-height');
/** @type {HTMLInputElement} */
const genSeed = $('#gen-seed');
/** @type {HTMLSelectElement} */
const genFormat = $('#gen-format');
/** @type {HTMLButtonElement} */
const genSubmit = $('#gen-submit');
const genJobs = $('#gen-jobs');
const genDiffusion = $('#gen-diffusion');
/** @type {HTMLTextAreaElement} */
const genNegative = $('#gen-negative_prompt');
/** @type {HTMLInputElement} */
const genSteps = $('#gen-steps');
/** @type {HTMLInputElement} */
const genGuidance = $('#gen-guidance_scale');
/** @type {HTMLSelectElement} */
const genScheduler = $('#gen-scheduler');

genModel.addEventListener('change', () => {
  const model = modelByName(genModel.value);
  const params = model?.parameters ?? {};
  $('#gen-model-desc').textContent = model?.description ?? '';
  const takesPrompt = Boolean(model) && params.prompt?.accepted !== false;
  genPrompt.disabled = !takesPrompt;
  $('#gen-prompt-hint').textContent =
    model && !takesPrompt ? `${model.name} is unconditional: it takes no prompt, only a seed.` : '';
  applyRange(genN, params.n, !genN.value);
  applyRange(genWidth, params.width, true);
  applyRange(genHeight, params.height, true);
  const sizeHint =
    params.width && params.height
      ? `${params.width.min}–${params.width.max} × ${params.height.min}–${params.height.max} px`
      : '';
  genWidth.title = genHeight.title = sizeHint;
  if (Array.isArray(params.output_format)) fillOptions(genFormat, params.output_format, formatLabel);
  // Diffusion models take more knobs; others reject them, so they are hidden (and not sent).
  const diffusion = Boolean(params.steps);
  genDiffusion.hidden = !diffusion;
  genWidth.step = genHeight.step = diffusion ? '8' : '1';
  if (diffusion) {
    applyRange(genSteps, params.steps, true);
    applyRange(genGuidance, params.guidance_scale, true);
    const schedulers = params.scheduler?.values ?? [];
    fillOptions(genScheduler, schedulers, undefined, params.scheduler?.default);
  }
  genSubmit.disabled = !model;
  clearErrors('gen');
});

genPrompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    genForm.requestSubmit();
  }
});

/**
 * Blank number inputs are left out so the server picks (the seed is then random).
 * @param {Record<string, unknown>} body
 * @param {string} key
 * @param {HTMLInputElement} input
 */
function readNumber(body, key, input) {
  if (input.value.trim() !== '') body[key] = Number(input.value);
  else if (input.validity.badInput) body[key] = input.value;
}

genForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors('gen');
  /** @type {Record<string, unknown>} */
  const body = { model: genModel.value || undefined, output_format: genFormat.value };
  if (!genPrompt.disabled && genPrompt.value.trim()) body.prompt = genPrompt.value;
  readNumber(body, 'n', genN);
  readNumber(body, 'width', genWidth);
  readNumber(body, 'height', genHeight);
  readNumber(body, 'seed', genSeed);
  if (!genDiffusion.hidden) {
    if (genNegative.value.trim()) body.negative_prompt = genNegative.value;
    readNumber(body, 'steps', genSteps);
    readNumber(body, 'guidance_scale', genGuidance);
    if (genScheduler.value) body.scheduler = genScheduler.value;
  }
  genSubmit.disabled = true;
  try {
    /** @type {JobView} */
    const job = await api('/v1/generations', { json: body });
    /** @type {{ model?: string, n?: number, width?: number, height?: number, prompt?: string, seed?: number }} */
    const p = job.params ?? body;
    const card = createJobCard(genJobs, {
      title: `${p.model} · ${p.n ?? 1} × ${p.width}×${p.height}`,
      subtitle: [p.prompt ? `“${p.prompt}”` : null, p.seed !== undefined ? `seed ${p.seed}` : null]
        .filter(Boolean)
        .join(' · '),
    });
    const gallery = el('ul', { class: 'gallery pending' }, placeholderTiles(p.n ?? 1, p.width ?? 1, p.height ?? 1));
    card.body.append(gallery);
    void track(card, job, (view) => renderGallery(card, view, gallery)).finally(() => {
      if (card.view.status !== 'succeeded') gallery.remove();
    });
  } catch (err) {
    showFormError('gen', /** @type {import('./api-client.js').ApiError} */ (err));
  } finally {
    genSubmit.disabled = !genModel.value;
  }
});
