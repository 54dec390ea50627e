import type { RedisClient } from '../../src/redis/redis-connection';
import type { RedisSettings } from '../../src/config';
import type { RunTimeSamples } from '../../src/jobs/queue-estimates';
import type { Logger } from '../../src/logger';
import { atStop, interval, type Component, type Resource } from './component';

/** How often a worker folds its measured runs into the averages behind the API's ETAs. */
const RUN_TIMES_PUSH_MS = 1000;

/**
 * The run times a worker measured reach the averages once a second, in one Redis call. Two
 * components, as with the metrics: `timer` while the process takes work; `last` once more after it
 * has drained, so it belongs before the queue workers in the list.
 */
export function runTimesPush(
  settings: RedisSettings,
  logger: Logger,
  samples: RunTimeSamples,
  redis: Resource<RedisClient>,
): { timer: Component; last: Component } {
  const flush = () =>
    samples
      .flush(redis.value, settings.prefix)
      .catch((err: Error) =>
        logger.debug({ err: err.message }, 'run times not written (Redis away?); the next write takes them'),
      );
  return {
    timer: interval('run times push', RUN_TIMES_PUSH_MS, () => void flush()),
    last: atStop('last run times push', flush),
  };
}
