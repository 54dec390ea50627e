// @ts-check
// Images chosen, dropped or pasted (Classify, Image to image), and their upload.

import { api } from './api-client.js';
import { showFormError } from './form-errors.js';

/** @import { JobView } from './page-types.js' */
/** @import { JobCard } from './job-card.js' */

/**
 * Calls `onFiles` with the files chosen in `input` or dropped on its label.
 * @param {HTMLInputElement} input
 * @param {(files: File[]) => void} onFiles
 */
export function wireDropzone(input, onFiles) {
  const zone = /** @type {HTMLLabelElement} */ (document.querySelector(`label[for="${input.id}"]`));
  input.addEventListener('change', () => {
    const files = [...(input.files ?? [])];
    input.value = ''; // so choosing the same file again still fires
    if (files.length) onFiles(files);
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) onFiles(files);
  });
}

/** @param {File[]} files */
export const onlyImages = (files) => files.filter((f) => !f.type || f.type.startsWith('image/'));

/**
 * Sends images as multipart/form-data; the card exists from the start so thumbnails show at once.
 * @param {string} prefix the form's id prefix, for errors
 * @param {string} path
 * @param {JobCard} card removed when the API refuses the upload
 * @param {Record<string, string>} fields
 * @param {File[]} files
 * @returns {Promise<JobView | undefined>}
 */
export async function submitUpload(prefix, path, card, fields, files) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (const file of files) form.append('image', file, file.name);
  try {
    return await api(path, { method: 'POST', form });
  } catch (err) {
    card.remove();
    showFormError(prefix, /** @type {import('./api-client.js').ApiError} */ (err));
    return undefined;
  }
}
