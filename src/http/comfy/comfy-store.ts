import type { RedisClient } from '../../redis/redis-target';
import { z } from 'zod';
import { uploadFolderKey } from '../../storage/upload-keys';
import type { ComfyGraph } from './comfy-schemas';

/**
 * What ComfyUI's API shows of a prompt beyond its darkroom job: its queue number, the client that
 * sent it, the workflow, and which nodes stand for which part of the job. Kept in RedisClient beside the
 * job for as long as jobs are kept, and listed per key so /history and /queue show a key only its
 * own prompts. A prompt's id is its darkroom job's id.
 */

export const promptRecordSchema = z.object({
  number: z.number(),
  client_id: z.string().optional(),
  graph: z.record(z.string(), z.unknown()),
  order: z.array(z.string()),
  sampler: z.string(),
  outputs: z.array(z.object({ node: z.string(), type: z.enum(['output', 'temp']) })),
  created: z.number(),
});
export type PromptRecord = z.infer<typeof promptRecordSchema> & { graph: ComfyGraph };

/** At most this many prompts per key are listed by /history and /queue (the newest). */
export const LISTED_PROMPTS = 1000;

export interface ComfyStoreOptions {
  prefix: string;
  retentionSeconds: number;
}

const recordKey = (prefix: string, id: string) => `${prefix}:comfy:prompt:${id}`;
const listKey = (prefix: string, owner: string) => `${prefix}:comfy:prompts:${owner}`;
const uploadKey = (prefix: string, owner: string, name: string) => `${prefix}:comfy:upload:${owner}:${name}`;
export const announceChannel = (prefix: string) => `${prefix}:comfy:announce`;

export interface PromptAnnouncement {
  owner: string;
  client_id: string;
  prompt_id: string;
}

export function createComfyStore(redis: RedisClient, { prefix, retentionSeconds }: ComfyStoreOptions) {
  return {
    nextNumber: () => redis.incr(`${prefix}:comfy:number`),

    async save(owner: string, id: string, record: PromptRecord): Promise<void> {
      const list = listKey(prefix, owner);
      await redis
        .multi()
        .set(recordKey(prefix, id), JSON.stringify(record), 'EX', retentionSeconds)
        .zadd(list, record.number, id)
        .zremrangebyrank(list, 0, -LISTED_PROMPTS - 1)
        .expire(list, retentionSeconds)
        .exec();
    },

    async load(id: string): Promise<PromptRecord | undefined> {
      const text = await redis.get(recordKey(prefix, id));
      if (!text) return undefined;
      const parsed = promptRecordSchema.safeParse(JSON.parse(text));
      return parsed.success ? (parsed.data as PromptRecord) : undefined;
    },

    /** The key's prompt ids, newest first; `drop` forgets ids whose jobs have expired. */
    list: (owner: string, count = LISTED_PROMPTS) => redis.zrevrange(listKey(prefix, owner), 0, count - 1),
    drop: (owner: string, ids: string[]) =>
      ids.length ? redis.zrem(listKey(prefix, owner), ...ids) : Promise.resolve(0),

    async saveUpload(owner: string, name: string, folder: string, key: string): Promise<void> {
      await redis
        .multi()
        .set(uploadKey(prefix, owner, name), JSON.stringify({ key, folder }), 'EX', retentionSeconds)
        .set(uploadFolderKey(prefix, folder), owner, 'EX', retentionSeconds)
        .exec();
    },

    async findUpload(owner: string, name: string): Promise<string | undefined> {
      const text = await redis.get(uploadKey(prefix, owner, name));
      return text ? z.object({ key: z.string() }).parse(JSON.parse(text)).key : undefined;
    },

    announce: (a: PromptAnnouncement) => redis.publish(announceChannel(prefix), JSON.stringify(a)),
  };
}
export type ComfyStore = ReturnType<typeof createComfyStore>;
