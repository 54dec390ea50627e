// @ts-check
// Errors shown next to a form: the API's message, and each `details` entry under its field.

import { $, el } from './dom.js';

/** @import { ErrorBody } from './page-types.js' */

/** `images[2]` and `images.2` are both shown under `images`. @param {string} field */
const baseField = (field) => String(field).replace(/\[\d+\]$|\.\d+$/, '');

/** @param {string} prefix the form's id prefix: gen, cls, i2i */
export function clearErrors(prefix) {
  $(`#${prefix}-error`).hidden = true;
  for (const p of document.querySelectorAll(`.field-error[id^="${prefix}-"]`)) {
    /** @type {HTMLElement} */ (p).hidden = true;
    p.textContent = '';
  }
  for (const input of document.querySelectorAll(`[id^="${prefix}-"][aria-invalid]`))
    input.removeAttribute('aria-invalid');
}

/**
 * Shows the API's message in the form, and each `details` entry under the field it names.
 * @param {string} prefix
 * @param {ErrorBody & { status?: number }} err
 */
export function showFormError(prefix, err) {
  /** @type {NonNullable<ErrorBody['details']>} */
  const unplaced = [];
  for (const detail of err.details ?? []) {
    const id = `${prefix}-${baseField(detail.field)}-error`;
    const target = document.getElementById(id);
    if (!target) {
      unplaced.push(detail);
      continue;
    }
    target.textContent = target.hidden ? detail.message : `${target.textContent}; ${detail.message}`;
    target.hidden = false;
    target.closest('details')?.setAttribute('open', '');
    document.querySelector(`[aria-describedby~="${id}"]`)?.setAttribute('aria-invalid', 'true');
  }
  const box = $(`#${prefix}-error`);
  box.replaceChildren(
    ...[
      el('p', { class: 'error-message', text: err.message }),
      unplaced.length
        ? el(
            'ul',
            {},
            unplaced.map((d) => el('li', {}, el('code', { text: d.field }), ` ${d.message}`)),
          )
        : null,
      el('p', { class: 'error-code', text: [err.status || null, err.code].filter(Boolean).join(' · ') }),
    ].filter((node) => node !== null),
  );
  box.hidden = false;
}

/**
 * Editing a field marked invalid clears its mark and message.
 * @param {HTMLElement} panel
 */
export function clearFieldErrorsOnInput(panel) {
  panel.addEventListener('input', (event) => {
    const input = /** @type {HTMLElement} */ (event.target);
    if (!input.hasAttribute('aria-invalid')) return;
    input.removeAttribute('aria-invalid');
    for (const id of (input.getAttribute('aria-describedby') ?? '').split(' ')) {
      const p = document.getElementById(id);
      if (p?.classList.contains('field-error')) p.hidden = true;
    }
  });
}
