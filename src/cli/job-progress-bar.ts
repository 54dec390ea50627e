import { Presets, SingleBar } from 'cli-progress';
import type { JobView } from '../jobs/job-view';

export interface JobProgressBar {
  update(job: JobView): void;
  stop(): void;
}

const stepsOf = (job: JobView) => (job.steps ? `, step ${job.step ?? 0}/${job.steps}` : '');

/**
 * A progress bar on stderr, so stdout stays clean for results and --json. cli-progress draws
 * nothing when stderr is not a terminal (pipes, CI, tests).
 */
export function createJobProgressBar(stream: NodeJS.WriteStream = process.stderr): JobProgressBar {
  const bar = new SingleBar(
    {
      stream,
      format: '{bar} {percentage}% | {id} {status}{steps}',
      hideCursor: true,
      clearOnComplete: true,
      noTTYOutput: false,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      const value = Math.round(job.progress * 100);
      const payload = { id: job.id, status: job.status, steps: stepsOf(job) };
      if (!started) {
        bar.start(100, value, payload);
        started = true;
      } else {
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
