// The darkroom web page. It talks to the public JSON API only, exactly as a script would;
// no framework and no build step, so what is here is what the browser runs.

const FINAL = new Set(['succeeded', 'failed', 'canceled']);
const POLL_MS = 300;
const KEY_STORAGE = 'darkroom.apiKey';
const STATUS_LABEL = { uploading: 'uploading', queued: 'queued', running: 'running', succeeded: 'done', failed: 'failed', canceled: 'canceled' };

// ---------------------------------------------------------------- small DOM helpers

const $ = (selector) => document.querySelector(selector);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates an element; `text` sets textContent, `on*` adds listeners, false/null attributes are left out. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

const formatBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} kB` : `${n} B`);
const formatType = (type = '') => type.replace(/^image\//, '').toUpperCase();
const percent = (x) => (x > 0 && x < 0.0005 ? '<0.1%' : `${(x * 100).toFixed(1)}%`);

// ---------------------------------------------------------------- API access

const keyInput = $('#api-key');
let apiKey = '';
try {
  apiKey = localStorage.getItem(KEY_STORAGE) ?? '';
} catch {
  // Storage may be disabled; the key then lasts for this page only.
}
keyInput.value = apiKey;
keyInput.addEventListener('change', () => {
  apiKey = keyInput.value.trim();
  try {
    if (apiKey) localStorage.setItem(KEY_STORAGE, apiKey);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // See above.
  }
  void loadModels();
});

const authHeaders = () => (apiKey ? { authorization: `Bearer ${apiKey}` } : {});

/** An error answer of the API: `{ error: { code, message, details? } }`, or a network failure (status 0). */
class ApiError extends Error {
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.details = Array.isArray(body.details) ? body.details : [];
    if ((status === 401 || status === 403) && !apiKey) this.message += ' (this server wants an API key: enter it at the top right)';
  }
}

async function api(path, { json, form, method = json !== undefined || form ? 'POST' : 'GET' } = {}) {
  const headers = { accept: 'application/json', ...authHeaders() };
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) body = form;
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, { code: 'network_error', message: 'cannot reach the server; is it running?' });
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const error = data?.error && typeof data.error.message === 'string' ? data.error : { code: `http_${res.status}`, message: `${res.status} ${res.statusText}` };
    throw new ApiError(res.status, error);
  }
  return data;
}

/** Images and zips are plain links, unless a key is set: links cannot send headers, so fetch a blob. */
async function fetchBlobUrl(url) {
  const res = await fetch(url, { headers: authHeaders() });
  if (!res.ok) throw new ApiError(res.status, { code: `http_${res.status}`, message: `download failed (${res.status})` });
  return URL.createObjectURL(await res.blob());
}

function showImage(img, url, link) {
  if (!apiKey) {
    img.src = url;
    return;
  }
  fetchBlobUrl(url).then(
    (blobUrl) => {
      img.src = blobUrl;
      if (link) link.href = blobUrl;
    },
    () => img.classList.add('broken'),
  );
}

function zipLink(jobId) {
  const link = el('a', { class: 'button small', href: `/v1/jobs/${encodeURIComponent(jobId)}/archive`, download: `${jobId}.zip`, 'data-zip': true }, 'Download zip');
  link.addEventListener('click', async (event) => {
    if (!apiKey) return;
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
      link.textContent = `Download failed (${err.status || 'network'}); retry`;
    }
  });
  return link;
}

// ---------------------------------------------------------------- tabs

const tabs = [...document.querySelectorAll('[role="tab"]')];
const tabName = (tab) => tab.id.replace(/^tab-/, '');
const activeTab = () => tabName(tabs.find((t) => t.getAttribute('aria-selected') === 'true'));

function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  history.replaceState(null, '', `#${tabName(tab)}`);
}

tabs.forEach((tab, i) => {
  tab.addEventListener('click', () => selectTab(tab));
  tab.addEventListener('keydown', (event) => {
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
});
const fromHash = tabs.find((t) => `#${tabName(t)}` === location.hash);
if (fromHash) selectTab(fromHash);

// ---------------------------------------------------------------- errors shown next to the form

const baseField = (field) => String(field).replace(/\[\d+\]$|\.\d+$/, '');

function clearErrors(prefix) {
  $(`#${prefix}-error`).hidden = true;
  for (const p of document.querySelectorAll(`.field-error[id^="${prefix}-"]`)) {
    p.hidden = true;
    p.textContent = '';
  }
  for (const input of document.querySelectorAll(`[id^="${prefix}-"][aria-invalid]`)) input.removeAttribute('aria-invalid');
}

/** Shows the API's message in the form, and each `details` entry under the field it names. */
function showFormError(prefix, err) {
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
      unplaced.length ? el('ul', {}, unplaced.map((d) => el('li', {}, el('code', { text: d.field }), ` ${d.message}`))) : null,
      el('p', { class: 'error-code', text: [err.status || null, err.code].filter(Boolean).join(' · ') }),
    ].filter(Boolean),
  );
  box.hidden = false;
}

for (const prefix of ['gen', 'cls', 'i2i']) {
  document.getElementById(`panel-${{ gen: 'generate', cls: 'classify', i2i: 'image-to-image' }[prefix]}`).addEventListener('input', (event) => {
    const input = event.target;
    if (!input.hasAttribute('aria-invalid')) return;
    input.removeAttribute('aria-invalid');
    for (const id of (input.getAttribute('aria-describedby') ?? '').split(' ')) {
      const p = document.getElementById(id);
      if (p?.classList.contains('field-error')) p.hidden = true;
    }
  });
}

const banner = $('#banner');
$('#banner-retry').addEventListener('click', () => void loadModels());
function showBanner(message) {
  $('#banner-text').textContent = message;
  banner.hidden = false;
}

// ---------------------------------------------------------------- a job card: progress, status, cancel, result

function updateEmptyHint(list) {
  const hint = document.querySelector(`[data-empty-for="${list.id}"]`);
  if (hint) hint.hidden = list.children.length > 0;
}

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
      const ms = Date.parse(view.finished_at) - Date.parse(view.created_at);
      return Number.isFinite(ms) ? `Finished in ${(ms / 1000).toFixed(1)} s` : 'Finished';
    }
    case 'failed':
      return 'Failed';
    default:
      return 'Canceled';
  }
}

function createJobCard(list, { title, subtitle }) {
  const badge = el('span', { class: 'badge', 'aria-live': 'polite' });
  const bar = el('div', { class: 'bar' });
  const progress = el('div', { class: 'progress', role: 'progressbar', 'aria-label': `Progress of ${title}`, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, bar);
  const statusText = el('p', { class: 'status-text' });
  const cancel = el('button', { type: 'button', class: 'ghost small', hidden: true }, 'Cancel');
  const actions = el('div', { class: 'job-actions' }, cancel);
  const error = el('div', { class: 'job-error', role: 'alert', hidden: true });
  const body = el('div', { class: 'job-body' });
  const idText = el('code', { class: 'job-id' });
  const node = el(
    'li',
    { class: 'card job' },
    el('header', { class: 'job-head' }, el('div', { class: 'job-titles' }, el('h3', { class: 'job-title', text: title }), subtitle ? el('p', { class: 'job-sub', text: subtitle }) : null), badge),
    progress,
    el('div', { class: 'job-meta' }, statusText, idText, actions),
    error,
    body,
  );
  list.prepend(node);
  updateEmptyHint(list);

  let view = { status: 'uploading', progress: 0 };
  const card = {
    node,
    body,
    actions,
    get view() {
      return view;
    },
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
      progress.classList.toggle('waiting', view.status === 'queued' || view.status === 'uploading' || (view.status === 'running' && pct === 0));
      statusText.textContent = describeProgress(view);
      cancel.hidden = !view.id || FINAL.has(view.status);
      // A cancel is the user's own doing: the status says it, no red box.
      if (view.status === 'failed' && view.error) card.fail(view.error);
      else error.hidden = true;
    },
    fail(err) {
      error.replaceChildren(el('p', { class: 'error-message', text: err.message }), el('p', { class: 'error-code', text: err.code }));
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
      card.update(await api(`/v1/jobs/${encodeURIComponent(view.id)}`, { method: 'DELETE' }));
    } catch (err) {
      // 409: it finished meanwhile; the next poll shows how.
      if (err.status !== 409) card.fail(err);
    } finally {
      cancel.disabled = false;
    }
  });
  card.update(view);
  return card;
}

/** Polls a job every POLL_MS until it is final, then hands the final view to `onSuccess`. */
async function track(card, view, onSuccess) {
  card.update(view);
  let misses = 0;
  while (!FINAL.has(view.status)) {
    await sleep(POLL_MS);
    try {
      view = await api(`/v1/jobs/${encodeURIComponent(view.id)}`);
      misses = 0;
      card.update(view);
    } catch (err) {
      if (err.status >= 400 && err.status < 500) return card.fail(err);
      misses += 1;
      card.fail({ message: `${err.message}; retrying…`, code: err.code });
      await sleep(Math.min(5000, 500 * misses));
    }
  }
  if (view.status === 'succeeded') onSuccess(view);
}

/** The output images of a job (generation or image to image) as a gallery plus a zip link. */
function renderGallery(card, view, slot) {
  const images = view.result?.images ?? [];
  const items = images.map((image) => {
    const label = [`Image ${image.index + 1} of ${images.length}`, image.seed !== undefined ? `seed ${image.seed}` : null].filter(Boolean).join(', ');
    // Small outputs (sprites) are shown enlarged: keep their pixels crisp.
    const img = el('img', { alt: label, width: image.width, height: image.height, decoding: 'async', class: image.width <= 96 ? 'pixelated' : null });
    const url = image.url ?? `/v1/jobs/${encodeURIComponent(view.id)}/images/${image.index}`;
    const link = el('a', { class: 'thumb', href: url, target: '_blank', rel: 'noopener', title: 'Open full size' }, img);
    showImage(img, url, link);
    const facts = [image.width && image.height ? `${image.width}×${image.height}` : null, image.content_type ? formatType(image.content_type) : null, image.bytes ? formatBytes(image.bytes) : null];
    return el(
      'li',
      {},
      el(
        'figure',
        {},
        link,
        el('figcaption', {}, image.seed !== undefined ? el('span', { class: 'seed', text: `seed ${image.seed}` }) : null, el('span', { class: 'muted', text: facts.filter(Boolean).join(' · ') })),
      ),
    );
  });
  slot.replaceChildren(...items);
  slot.classList.remove('pending');
  card.actions.append(zipLink(view.id));
}

/** Grey tiles in the shape of the images to come. */
function placeholderTiles(count, width, height) {
  return Array.from({ length: count }, () => {
    const tile = el('div', { class: 'tile-placeholder' });
    tile.style.aspectRatio = `${width} / ${height}`;
    return el('li', { 'aria-hidden': 'true' }, tile);
  });
}

// ---------------------------------------------------------------- models

let models = [];
const modelByName = (name) => models.find((m) => m.name === name);

/** Which models each tab offers: by the job they run, so new model kinds land in the right place. */
const makesImages = (m) => m.job_type === 'generation';
const classifies = (m) => m.job_type === 'classification';
const transformsImages = (m) => m.job_type === 'image_to_image' || m.image_to_image === true;

function fillModelSelect(select, accepts, noun) {
  const previous = select.value;
  const list = models.filter(accepts);
  select.replaceChildren(...list.map((m) => el('option', { value: m.name, text: m.name })));
  if (!list.length) select.append(el('option', { value: '', text: `no ${noun} models loaded` }));
  select.disabled = !list.length;
  if (list.some((m) => m.name === previous)) select.value = previous;
  select.dispatchEvent(new Event('change'));
  return list;
}

async function loadModels() {
  banner.hidden = true;
  try {
    ({ models } = await api('/v1/models'));
  } catch (err) {
    models = [];
    showBanner(`Could not load the model list: ${err.message}`);
  }
  fillModelSelect(genModel, makesImages, 'generator');
  fillModelSelect(clsModel, classifies, 'classifier');
  const i2i = fillModelSelect(i2iModel, transformsImages, 'image-to-image');
  $('#i2i-none').hidden = i2i.length > 0;
  $('#i2i-workspace').hidden = i2i.length === 0;
}

// ---------------------------------------------------------------- Generate

const genForm = $('#gen-form');
const genModel = $('#gen-model');
const genPrompt = $('#gen-prompt');
const genN = $('#gen-n');
const genWidth = $('#gen-width');
const genHeight = $('#gen-height');
const genSeed = $('#gen-seed');
const genFormat = $('#gen-format');
const genSubmit = $('#gen-submit');
const genJobs = $('#gen-jobs');
const genDiffusion = $('#gen-diffusion');
const genNegative = $('#gen-negative_prompt');
const genSteps = $('#gen-steps');
const genGuidance = $('#gen-guidance_scale');
const genScheduler = $('#gen-scheduler');

function applyRange(input, range, useDefault) {
  if (!range) return;
  if (range.min !== undefined) input.min = range.min;
  if (range.max !== undefined) input.max = range.max;
  if (useDefault && range.default !== undefined) input.value = range.default;
}

function fillOptions(select, values, labelOf = (v) => v, preferred = select.value) {
  select.replaceChildren(...values.map((v) => el('option', { value: v, text: labelOf(v) })));
  if (values.includes(preferred)) select.value = preferred;
}
const formatLabel = (f) => ({ png: 'PNG', webp: 'WebP', jpeg: 'JPEG' })[f] ?? f.toUpperCase();

genModel.addEventListener('change', () => {
  const model = modelByName(genModel.value);
  const params = model?.parameters ?? {};
  $('#gen-model-desc').textContent = model?.description ?? '';
  const takesPrompt = Boolean(model) && params.prompt?.accepted !== false;
  genPrompt.disabled = !takesPrompt;
  $('#gen-prompt-hint').textContent = model && !takesPrompt ? `${model.name} is unconditional: it takes no prompt, only a seed.` : '';
  applyRange(genN, params.n, !genN.value);
  applyRange(genWidth, params.width, true);
  applyRange(genHeight, params.height, true);
  const sizeHint = params.width && params.height ? `${params.width.min}–${params.width.max} × ${params.height.min}–${params.height.max} px` : '';
  genWidth.title = genHeight.title = sizeHint;
  if (Array.isArray(params.output_format)) fillOptions(genFormat, params.output_format, formatLabel);
  // Diffusion models take more knobs; others reject them, so they are hidden (and not sent).
  const diffusion = Boolean(params.steps);
  genDiffusion.hidden = !diffusion;
  genWidth.step = genHeight.step = diffusion ? 8 : 1;
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

/** Blank number inputs are left out so the server picks (the seed is then random). */
function readNumber(body, key, input) {
  if (input.value.trim() !== '') body[key] = Number(input.value);
  else if (input.validity.badInput) body[key] = input.value;
}

genForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors('gen');
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
    const job = await api('/v1/generations', { json: body });
    const p = job.params ?? body;
    const card = createJobCard(genJobs, {
      title: `${p.model} · ${p.n ?? 1} × ${p.width}×${p.height}`,
      subtitle: [p.prompt ? `“${p.prompt}”` : null, p.seed !== undefined ? `seed ${p.seed}` : null].filter(Boolean).join(' · '),
    });
    const gallery = el('ul', { class: 'gallery pending' }, placeholderTiles(p.n ?? 1, p.width ?? 1, p.height ?? 1));
    card.body.append(gallery);
    void track(card, job, (view) => renderGallery(card, view, gallery)).finally(() => {
      if (card.view.status !== 'succeeded') gallery.remove();
    });
  } catch (err) {
    showFormError('gen', err);
  } finally {
    genSubmit.disabled = !genModel.value;
  }
});

// ---------------------------------------------------------------- drop zones (Classify, Image to image)

function wireDropzone(input, onFiles) {
  const zone = document.querySelector(`label[for="${input.id}"]`);
  input.addEventListener('change', () => {
    const files = [...input.files];
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
// A file dropped beside a drop zone must not navigate away from the page.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

const onlyImages = (files) => files.filter((f) => !f.type || f.type.startsWith('image/'));

/** Sends images as multipart/form-data; the card exists from the start so thumbnails show at once. */
async function submitUpload(prefix, path, card, fields, files) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  for (const file of files) form.append('image', file, file.name);
  try {
    return await api(path, { method: 'POST', form });
  } catch (err) {
    card.remove();
    showFormError(prefix, err);
    return undefined;
  }
}

// ---------------------------------------------------------------- Classify

const clsModel = $('#cls-model');
const clsTopK = $('#cls-topk');
const clsJobs = $('#cls-jobs');
clsModel.addEventListener('change', () => {
  $('#cls-model-desc').textContent = modelByName(clsModel.value)?.description ?? '';
  clearErrors('cls');
});

function labelList(labels) {
  return el(
    'ol',
    { class: 'labels' },
    labels.map((l) => {
      const fill = el('span', { class: 'fill' });
      fill.style.width = `${Math.max(0.5, l.score * 100)}%`;
      return el('li', {}, el('span', { class: 'label-name', text: l.label }), el('span', { class: 'score-bar', 'aria-hidden': 'true' }, fill), el('span', { class: 'score', text: percent(l.score) }));
    }),
  );
}

async function classify(files) {
  clearErrors('cls');
  const images = onlyImages(files);
  if (!images.length) return showFormError('cls', { message: 'None of those files is an image.', code: 'not_an_image' });
  if (!clsModel.value) return showFormError('cls', { message: 'No classifier model is loaded on this server.', code: 'no_model' });
  const card = createJobCard(clsJobs, { title: `${clsModel.value} · ${images.length} image${images.length > 1 ? 's' : ''}`, subtitle: images.map((f) => f.name).join(', ') });
  const rows = images.map((file) => {
    const thumb = el('img', { src: URL.createObjectURL(file), alt: file.name });
    const slot = el('div', { class: 'labels-slot' }, el('div', { class: 'labels-placeholder', 'aria-hidden': 'true' }));
    return { slot, node: el('li', { class: 'prediction' }, el('figure', {}, el('div', { class: 'thumb' }, thumb), el('figcaption', { class: 'muted', text: file.name })), slot) };
  });
  card.body.append(el('ul', { class: 'predictions' }, rows.map((r) => r.node)));
  const job = await submitUpload('cls', '/v1/classifications', card, { model: clsModel.value, top_k: clsTopK.value || '5' }, images);
  if (!job) return;
  void track(card, job, (view) => {
    for (const prediction of view.result?.predictions ?? []) rows[prediction.index]?.slot.replaceChildren(labelList(prediction.labels));
  }).finally(() => {
    if (card.view.status !== 'succeeded') for (const row of rows) row.slot.replaceChildren();
  });
}
wireDropzone($('#cls-files'), (files) => void classify(files));

// ---------------------------------------------------------------- Image to image

const i2iForm = $('#i2i-form');
const i2iModel = $('#i2i-model');
const i2iPrompt = $('#i2i-prompt');
const i2iStrength = $('#i2i-strength');
const i2iSeed = $('#i2i-seed');
const i2iFormat = $('#i2i-format');
const i2iSubmit = $('#i2i-submit');
const i2iSelected = $('#i2i-selected');
const i2iJobs = $('#i2i-jobs');
/** The chosen input image and its preview URL; kept so several settings can be tried on it. */
let i2iImage;

const i2iParam = (name) => i2iForm.querySelector(`[data-param="${name}"]`);
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
  if (params.strength?.default !== undefined) i2iStrength.value = params.strength.default;
  showStrength();
  if (Array.isArray(params.output_format)) fillOptions(i2iFormat, params.output_format, formatLabel);
  i2iSubmit.disabled = !model || !i2iImage;
  clearErrors('i2i');
});

function chooseI2iImage(files) {
  clearErrors('i2i');
  const [image] = onlyImages(files);
  if (!image) return showFormError('i2i', { message: 'That file is not an image.', code: 'not_an_image' });
  if (i2iImage) URL.revokeObjectURL(i2iImage.preview);
  i2iImage = { file: image, preview: URL.createObjectURL(image) };
  i2iSelected.replaceChildren(el('img', { src: i2iImage.preview, alt: '' }), el('span', {}, el('strong', { text: image.name }), el('span', { class: 'muted', text: formatBytes(image.size) })));
  i2iSelected.hidden = false;
  i2iSubmit.disabled = !i2iModel.value;
}
wireDropzone($('#i2i-files'), chooseI2iImage);

i2iForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors('i2i');
  if (!i2iImage) return showFormError('i2i', { message: 'Choose an image first.', code: 'no_image' });
  const fields = { model: i2iModel.value, output_format: i2iFormat.value };
  if (!i2iParam('prompt').hidden && i2iPrompt.value.trim()) fields.prompt = i2iPrompt.value;
  if (!i2iParam('strength').hidden) fields.strength = i2iStrength.value;
  if (!i2iParam('seed').hidden && i2iSeed.value.trim()) fields.seed = i2iSeed.value;
  const { file } = i2iImage;
  const card = createJobCard(i2iJobs, {
    title: `${i2iModel.value} · ${file.name}`,
    subtitle: [fields.prompt ? `“${fields.prompt}”` : null, fields.strength ? `strength ${Number(fields.strength).toFixed(2)}` : null].filter(Boolean).join(' · '),
  });
  const output = el('ul', { class: 'gallery pending' }, placeholderTiles(1, 1, 1));
  const input = el('figure', { class: 'i2i-input' }, el('div', { class: 'thumb' }, el('img', { src: URL.createObjectURL(file), alt: `Input: ${file.name}` })), el('figcaption', { class: 'muted', text: 'input' }));
  card.body.append(el('div', { class: 'i2i-pair' }, input, output));
  const job = await submitUpload('i2i', '/v1/image-to-image', card, fields, [file]);
  if (!job) return;
  void track(card, job, (view) => renderGallery(card, view, output)).finally(() => {
    if (card.view.status !== 'succeeded') output.remove();
  });
});

document.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (!files.length) return;
  if (activeTab() === 'classify') void classify(files);
  else if (activeTab() === 'image-to-image') chooseI2iImage(files);
});

void loadModels();
