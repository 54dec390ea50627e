import type { RedisClient } from '../../redis/redis-target';

/**
 * What AUTOMATIC1111 keeps per server and darkroom keeps per key: the chosen checkpoint
 * (POST /sdapi/v1/options sd_model_checkpoint) and the key's latest /sdapi job, which
 * GET /sdapi/v1/progress reports and POST /sdapi/v1/interrupt cancels.
 */
export function createA1111State(redis: RedisClient, prefix: string, retentionSeconds: number) {
  const modelKey = (owner: string) => `${prefix}:a1111:model:${owner}`;
  const currentKey = (owner: string) => `${prefix}:a1111:current:${owner}`;
  return {
    model: async (owner: string) => (await redis.get(modelKey(owner))) ?? undefined,
    setModel: (owner: string, name: string) => redis.set(modelKey(owner), name),
    current: async (owner: string) => (await redis.get(currentKey(owner))) ?? undefined,
    setCurrent: (owner: string, id: string) => redis.set(currentKey(owner), id, 'EX', retentionSeconds),
  };
}
export type A1111State = ReturnType<typeof createA1111State>;
