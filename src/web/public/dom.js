// @ts-check
// Small DOM helpers and formatters shared by the page's modules.

/**
 * The one element `selector` names. The page's own markup is fixed, so a missing element is a
 * bug to hear about at once, not a null to check at every use.
 * @template {HTMLElement} [E=HTMLElement]
 * @param {string} selector
 * @returns {E}
 */
export function $(selector) {
  const node = document.querySelector(selector);
  if (!node) throw new Error(`the page has no ${selector}`);
  return /** @type {E} */ (node);
}

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * Creates an element; `text` sets textContent, `on*` adds listeners, false/null attributes are left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {number} n */
export const formatBytes = (n) =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} kB` : `${n} B`;
/** @param {string} [type] */
export const formatType = (type = '') => type.replace(/^image\//, '').toUpperCase();
/** @param {number} x */
export const percent = (x) => (x > 0 && x < 0.0005 ? '<0.1%' : `${(x * 100).toFixed(1)}%`);
