import type { JobView } from '../jobs/job-view';
import { formatFields, formatTable } from './text-table';

interface GeneratedImage {
  index: number;
  width: number;
  height: number;
  seed?: number;
  content_type: string;
  url: string;
}

interface Prediction {
  index: number;
  labels: { label: string; score: number }[];
}

/** The images listed in a succeeded generation job's result. */
export const imagesOf = (job: JobView) => (job.result as { images?: GeneratedImage[] } | undefined)?.images ?? [];

/** The predictions of a succeeded classification job's result. */
export const predictionsOf = (job: JobView) =>
  (job.result as { predictions?: Prediction[] } | undefined)?.predictions ?? [];

function progressText(job: JobView): string | undefined {
  if (job.status !== 'running') return undefined;
  const steps = job.steps ? `, step ${job.step ?? 0}/${job.steps}` : '';
  return `${Math.round(job.progress * 100)}%${steps}`;
}

/** A job as `darkroom status` shows it. */
export function formatJob(job: JobView): string {
  const params = Object.entries(job.params)
    .filter(([k, v]) => k !== 'model' && k !== 'images' && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  const images = imagesOf(job).map((i) => `${i.url} (${i.width}x${i.height} ${i.content_type})`);
  return formatFields([
    ['id', job.id],
    ['type', job.type],
    ['status', job.status],
    ['progress', progressText(job)],
    ['model', job.model],
    ['params', params || undefined],
    ['batch', job.batch_id],
    ['attempts', String(job.attempts_made)],
    ['created', job.created_at],
    ['started', job.started_at ?? undefined],
    ['finished', job.finished_at ?? undefined],
    ['error', job.error ? `${job.error.code}: ${job.error.message}` : undefined],
    ['images', images.length ? images.join('\n') : undefined],
  ]);
}

/** One row per label: the image name on its first row, rank, label, score. */
export function formatPredictions(job: JobView, names: string[]): string {
  const rows: string[][] = [];
  for (const prediction of predictionsOf(job)) {
    prediction.labels.forEach((l, rank) => {
      rows.push([
        rank === 0 ? (names[prediction.index] ?? `#${prediction.index}`) : '',
        String(rank + 1),
        l.label,
        l.score.toFixed(4),
      ]);
    });
  }
  return formatTable(['IMAGE', 'RANK', 'LABEL', 'SCORE'], rows);
}
