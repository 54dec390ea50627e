import { ADMIN_PATH } from './http/admin-board';
import { DOCS_PATH } from './http/openapi/docs-page';
import type { JobType } from './jobs/job-contract';
import type { ModelCatalog } from './models/model-catalog';
import { DEFAULT_MODEL_VARIABLES, isDemo } from './models/model-defaults';

const JOB_LABEL: Record<JobType, string> = {
  generation: 'generation',
  classification: 'classification',
  image_to_image: 'image-to-image',
};

/** One line per model: name, kind, whether it is a demo, which jobs it is the default of. */
function modelLines(catalog: ModelCatalog): string[] {
  const width = Math.max(...catalog.entries.map((e) => e.manifest.name.length), 0);
  const kindWidth = Math.max(...catalog.entries.map((e) => e.manifest.kind.length), 0);
  return catalog.entries.map((entry) => {
    const jobs = catalog.defaultJobsOf(entry).map((job) => JOB_LABEL[job]);
    const cells = [
      entry.manifest.name.padEnd(width),
      entry.manifest.kind.padEnd(kindWidth),
      (isDemo(entry) ? 'demo' : '').padEnd(4),
      jobs.length ? `default for ${jobs.join(', ')}` : '',
    ];
    return `    ${cells.join('  ')}`.trimEnd();
  });
}

/**
 * What `npm start` (and `npm run start:api` at a terminal) prints once the API listens: where the page, the docs
 * and Bull Board are, and the models with their defaults, the demos called demos.
 */
export function startBanner(url: string, catalog: ModelCatalog): string {
  const demos = catalog.entries.filter(isDemo).length;
  const lines = [
    `darkroom is running at ${url}`,
    `  web page    ${url}/`,
    `  API docs    ${url}${DOCS_PATH}`,
    `  Bull Board  ${url}${ADMIN_PATH}`,
    `  models (defaults: ${Object.values(DEFAULT_MODEL_VARIABLES).join(', ')}):`,
    ...(catalog.entries.length ? modelLines(catalog) : ['    none: set MODELS_PATH, or `darkroom models pull`']),
  ];
  if (demos > 0)
    lines.push(
      "  demo: darkroom's own tiny models, built by scripts/build-demo-models; they show the pipeline works,",
      '  not what a real model makes. `darkroom models pull <owner/name>` installs a real one (README "Real models").',
    );
  return `${lines.join('\n')}\n`;
}
