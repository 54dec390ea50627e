// @ts-check
// The Image to image tab: one image in, a transformed one out.

import { $, el, formatBytes } from './dom.js';
import { onlyImages, submitUpload, wireDropzone } from './file-drop.js';
import { clearErrors, showFormError } from './form-errors.js';
import { createJobCard, track } from './job-card.js';
import { placeholderTiles, renderGallery } from './job-gallery.js';
import { fillOptions, formatLabel, modelByName } from './model-list.js';

/** @type {HTMLFormElement} */
const i2iForm = $('#i2i-form');
/** @type {HTMLSelectElement} */
export const i2iModel = $('#i2i-model');
/** @type {HTMLTextAreaElement} */
const i2iPrompt = $('#i2i-prompt');
/** @type {HTMLInputElement} */
const i2iStrength = $('#i2i-strength');
/** @type {HTMLInputElement} */
const i2iSeed = $('#i2i-seed');
/** @type {HTMLSelectElement} */
const i2iFormat = $('#i2i-format');
/** @type {HTMLButtonElement} */
const i2iSubmit = $('#i2i-submit');
const i2iSelected = $('#i2i-selected');
const i2iJobs = $('#i2i-jobs');
/** The chosen input image and its preview URL; kept so several settings can be tried on it. @type {{ file: File, preview: string } | undefined} */
let i2iImage;

/** @param {string} name */
const i2iParam = (name) => $(`#i2i-form [data-param="${name}"]`);
const showStrength = () => ($('#i2i-strength-value').textContent = Number(i2iStrength.value).toFixed(2));
i2iStrength.addEventListener('input', showStrength);

i2iModel.addEventListener('change', () => {
  const model = modelByName(i2iModel.value);
  const params = model?.parameters ?? {};
  $('#i2i-model-desc').textContent = model?.description ?? '';
  // Graph models (style transfer, upscaling) take only the image; diffusion models also these.
  i2iParam('prompt').hidden = !params.prompt?.accepted;
  i2iParam('strength').hidden = !params.strength;
  i2iParam('seed').hidden = !params.seed;
  if (params.strength?.default !== undefined) i2iStrength.value = String(params.strength.default);
  showStrength();
  if (Array.isArray(params.output_format)) fillOptions(i2iFormat, params.output_format, formatLabel);
  i2iSubmit.disabled = !model || !i2iImage;
  clearErrors('i2i');
});

/** @param {File[]} files */
export function chooseI2iImage(files) {
  clearErrors('i2i');
  const [image] = onlyImages(files);
  if (!image) return showFormError('i2i', { message: 'That file is not an image.', code: 'not_an_image' });
  if (i2iImage) URL.revokeObjectURL(i2iImage.preview);
  i2iImage = { file: image, preview: URL.createObjectURL(image) };
  i2iSelected.replaceChildren(
    el('img', { src: i2iImage.preview, alt: '' }),
    el('span', {}, el('strong', { text: image.name }), el('span', { class: 'muted', text: formatBytes(image.size) })),
  );
  i2iSelected.hidden = false;
  i2iSubmit.disabled = !i2iModel.value;
}
wireDropzone($('#i2i-files'), chooseI2iImage);

i2iForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors('i2i');
  if (!i2iImage) return showFormError('i2i', { message: 'Choose an image first.', code: 'no_image' });
  /** @type {Record<string, string>} */
  const fields = { model: i2iModel.value, output_format: i2iFormat.value };
  if (!i2iParam('prompt').hidden && i2iPrompt.value.trim()) fields.prompt = i2iPrompt.value;
  if (!i2iParam('strength').hidden) fields.strength = i2iStrength.value;
  if (!i2iParam('seed').hidden && i2iSeed.value.trim()) fields.seed = i2iSeed.value;
  const { file } = i2iImage;
  const card = createJobCard(i2iJobs, {
    title: `${i2iModel.value} · ${file.name}`,
    subtitle: [
      fields.prompt ? `“${fields.prompt}”` : null,
      fields.strength ? `strength ${Number(fields.strength).toFixed(2)}` : null,
    ]
      .filter(Boolean)
      .join(' · '),
  });
  const output = el('ul', { class: 'gallery pending' }, placeholderTiles(1, 1, 1));
  const input = el(
    'figure',
    { class: 'i2i-input' },
    el('div', { class: 'thumb' }, el('img', { src: URL.createObjectURL(file), alt: `Input: ${file.name}` })),
    el('figcaption', { class: 'muted', text: 'input' }),
  );
  card.body.append(el('div', { class: 'i2i-pair' }, input, output));
  const job = await submitUpload('i2i', '/v1/image-to-image', card, fields, [file]);
  if (!job) return;
  void track(card, job, (view) => renderGallery(card, view, output)).finally(() => {
    if (card.view.status !== 'succeeded') output.remove();
  });
});
