// @ts-check
// The tab strip (Generate, Classify, Image to image), with the keys of the ARIA tabs pattern.

const tabs = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('[role="tab"]')]);
/** @param {HTMLElement} tab */
const tabName = (tab) => tab.id.replace(/^tab-/, '');

/** The name of the tab shown: generate, classify or image-to-image. */
export const activeTab = () => {
  const selected = tabs.find((t) => t.getAttribute('aria-selected') === 'true');
  return selected ? tabName(selected) : '';
};

/**
 * @param {HTMLElement} tab
 * @param {boolean} [focus]
 */
function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    const panel = document.getElementById(t.getAttribute('aria-controls') ?? '');
    if (panel) panel.hidden = !on;
  }
  if (focus) tab.focus();
  history.replaceState(null, '', `#${tabName(tab)}`);
}

tabs.forEach((tab, i) => {
  tab.addEventListener('click', () => selectTab(tab));
  tab.addEventListener('keydown', (event) => {
    /** @type {Record<string, number>} */
    const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
});
const fromHash = tabs.find((t) => `#${tabName(t)}` === location.hash);
if (fromHash) selectTab(fromHash);
