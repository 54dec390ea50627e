// @ts-check
// The darkroom web page. It talks to the public JSON API only, exactly as a script would; no
// framework and no build step: these ES modules are what the browser runs, type-checked by
// `npm run typecheck` (tsconfig.web.json) from their JSDoc.

import { api, getApiKey, setApiKey } from './api-client.js';
import { clsModel, classify } from './classify-tab.js';
import { $ } from './dom.js';
import { clearFieldErrorsOnInput } from './form-errors.js';
import { genModel } from './generate-tab.js';
import { chooseI2iImage, i2iModel } from './image-to-image-tab.js';
import { classifies, fillModelSelect, makesImages, setModels, transformsImages } from './model-list.js';
import { activeTab } from './tabs.js';

/** @type {HTMLInputElement} */
const keyInput = $('#api-key');
keyInput.value = getApiKey();
keyInput.addEventListener('change', () => {
  setApiKey(keyInput.value.trim());
  void loadModels();
});

for (const panel of ['generate', 'classify', 'image-to-image']) clearFieldErrorsOnInput($(`#panel-${panel}`));

const banner = $('#banner');
$('#banner-retry').addEventListener('click', () => void loadModels());
/** @param {string} message */
function showBanner(message) {
  $('#banner-text').textContent = message;
  banner.hidden = false;
}

async function loadModels() {
  banner.hidden = true;
  try {
    setModels((await api('/v1/models')).models);
  } catch (err) {
    setModels([]);
    showBanner(`Could not load the model list: ${/** @type {Error} */ (err).message}`);
  }
  fillModelSelect(genModel, makesImages, 'generator', 'generation');
  fillModelSelect(clsModel, classifies, 'classifier', 'classification');
  const i2i = fillModelSelect(i2iModel, transformsImages, 'image-to-image', 'image_to_image');
  $('#i2i-none').hidden = i2i.length > 0;
  $('#i2i-workspace').hidden = i2i.length === 0;
}

// A file dropped beside a drop zone must not navigate away from the page.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

document.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (!files.length) return;
  if (activeTab() === 'classify') void classify(files);
  else if (activeTab() === 'image-to-image') chooseI2iImage(files);
});

void loadModels();
