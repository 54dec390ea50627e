// @ts-check
// The models the server has loaded (GET /v1/models), and the form controls they fill.

import { el } from './dom.js';

/** @import { JobType, ModelInfo, NumberRange } from './page-types.js' */

/** @type {ModelInfo[]} */
let models = [];

/** @param {ModelInfo[]} list */
export const setModels = (list) => (models = list);
/** @param {string} name */
export const modelByName = (name) => models.find((m) => m.name === name);

/** Which models each tab offers: by the job they run, so new model kinds land in the right place. @type {(m: ModelInfo) => boolean} */
export const makesImages = (m) => m.job_type === 'generation';
/** @type {(m: ModelInfo) => boolean} */
export const classifies = (m) => m.job_type === 'classification';
/** @type {(m: ModelInfo) => boolean} */
export const transformsImages = (m) => m.job_type === 'image_to_image' || m.image_to_image === true;

/** @param {ModelInfo} m */
const optionText = (m) => (m.demo ? `${m.name} (demo)` : m.name);

/**
 * Offers the models `accepts` takes, keeping the choice when it is still there, else choosing the
 * server's default for `job` (GET /v1/models says which: the page never picks one of its own).
 * @param {HTMLSelectElement} select
 * @param {(m: ModelInfo) => boolean} accepts
 * @param {string} noun
 * @param {JobType} job
 */
export function fillModelSelect(select, accepts, noun, job) {
  const previous = select.value;
  const list = models.filter(accepts);
  select.replaceChildren(...list.map((m) => el('option', { value: m.name, text: optionText(m) })));
  if (!list.length) select.append(el('option', { value: '', text: `no ${noun} models loaded` }));
  select.disabled = !list.length;
  const serverDefault = list.find((m) => m.default_for?.includes(job));
  if (list.some((m) => m.name === previous)) select.value = previous;
  else if (serverDefault) select.value = serverDefault.name;
  select.dispatchEvent(new Event('change'));
  return list;
}

/**
 * @param {HTMLInputElement} input
 * @param {NumberRange | undefined} range
 * @param {boolean} useDefault
 */
export function applyRange(input, range, useDefault) {
  if (!range) return;
  if (range.min !== undefined) input.min = String(range.min);
  if (range.max !== undefined) input.max = String(range.max);
  if (useDefault && range.default !== undefined) input.value = String(range.default);
}

/**
 * @param {HTMLSelectElement} select
 * @param {string[]} values
 * @param {(value: string) => string} [labelOf]
 * @param {string} [preferred]
 */
export function fillOptions(select, values, labelOf = (v) => v, preferred = select.value) {
  select.replaceChildren(...values.map((v) => el('option', { value: v, text: labelOf(v) })));
  if (preferred !== undefined && values.includes(preferred)) select.value = preferred;
}

/** @type {Record<string, string>} */
const FORMAT_LABELS = { png: 'PNG', webp: 'WebP', jpeg: 'JPEG' };
/** @param {string} format */
export const formatLabel = (format) => FORMAT_LABELS[format] ?? format.toUpperCase();
