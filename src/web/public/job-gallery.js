// @ts-check
// Output images of a job (generation, image to image): placeholders, the gallery, the zip link.

import { fetchBlobUrl, getApiKey } from './api-client.js';
import { el, formatBytes, formatType } from './dom.js';

/** @import { JobView } from './page-types.js' */
/** @import { JobCard } from './job-card.js' */

/**
 * @param {HTMLImageElement} img
 * @param {string} url
 * @param {HTMLAnchorElement} link
 */
function showImage(img, url, link) {
  if (!getApiKey()) {
    img.src = url;
    return;
  }
  fetchBlobUrl(url).then(
    (blobUrl) => {
      img.src = blobUrl;
      link.href = blobUrl;
    },
    () => img.classList.add('broken'),
  );
}

/** @param {string} jobId */
function zipLink(jobId) {
  const link = el(
    'a',
    {
      class: 'button small',
      href: `/v1/jobs/${encodeURIComponent(jobId)}/archive`,
      download: `${jobId}.zip`,
      'data-zip': true,
    },
    'Download zip',
  );
  link.addEventListener('click', async (event) => {
    if (!getApiKey()) return;
    event.preventDefault();
    try {
      const blobUrl = await fetchBlobUrl(link.href);
      const temp = el('a', { href: blobUrl, download: `${jobId}.zip` });
      document.body.append(temp);
      temp.click();
      temp.remove();
      setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
      link.textContent = 'Download zip';
    } catch (err) {
      link.textContent = `Download failed (${/** @type {{ status?: number }} */ (err).status || 'network'}); retry`;
    }
  });
  return link;
}

/**
 * The output images of a job as a gallery plus a zip link.
 * @param {JobCard} card
 * @param {JobView} view
 * @param {HTMLElement} slot
 */
export function renderGallery(card, view, slot) {
  const images = view.result?.images ?? [];
  const items = images.map((image) => {
    const label = [
      `Image ${image.index + 1} of ${images.length}`,
      image.seed !== undefined ? `seed ${image.seed}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    // Small outputs (sprites) are shown enlarged: keep their pixels crisp.
    const img = el('img', {
      alt: label,
      width: image.width,
      height: image.height,
      decoding: 'async',
      class: image.width <= 96 ? 'pixelated' : null,
    });
    const url = image.url ?? `/v1/jobs/${encodeURIComponent(view.id)}/images/${image.index}`;
    const link = el(
      'a',
      { class: 'thumb', href: url, target: '_blank', rel: 'noopener', title: 'Open full size' },
      img,
    );
    showImage(img, url, link);
    const facts = [
      image.width && image.height ? `${image.width}×${image.height}` : null,
      image.content_type ? formatType(image.content_type) : null,
      image.bytes ? formatBytes(image.bytes) : null,
    ];
    return el(
      'li',
      {},
      el(
        'figure',
        {},
        link,
        el(
          'figcaption',
          {},
          image.seed !== undefined ? el('span', { class: 'seed', text: `seed ${image.seed}` }) : null,
          el('span', { class: 'muted', text: facts.filter(Boolean).join(' · ') }),
        ),
      ),
    );
  });
  slot.replaceChildren(...items);
  slot.classList.remove('pending');
  card.actions.append(zipLink(view.id));
}

/**
 * Grey tiles in the shape of the images to come.
 * @param {number} count
 * @param {number} width
 * @param {number} height
 */
export function placeholderTiles(count, width, height) {
  return Array.from({ length: count }, () => {
    const tile = el('div', { class: 'tile-placeholder' });
    tile.style.aspectRatio = `${width} / ${height}`;
    return el('li', { 'aria-hidden': 'true' }, tile);
  });
}
