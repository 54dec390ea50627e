import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './bench-options';
import { startDarkroomStack } from './darkroom-stack';
import { sleep } from './process-launcher';
import type { BenchRedis } from './redis-launcher';

export interface ZipDownload {
  bytes: number;
  seconds: number;
  /** Request -> first byte of the body (the route loads every job before it streams). */
  firstByteMs: number;
  megabytesPerSecond: number;
  entries: number;
  baselineMiB: number;
  peakGrowthMiB: number;
  samples: number;
}

export interface ZipResult {
  images: number;
  jobs: number;
  imageSize: number;
  generateSeconds: number;
  downloads: ZipDownload[];
}

const IMAGE_SIZE = 64;
const PER_JOB = 16;

/** VmRSS of a process in KiB. */
function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Entry count from the zip's end-of-central-directory record (the last 22+ bytes). */
function zipEntries(tail: Buffer): number {
  const at = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  return at >= 0 ? tail.readUInt16LE(at + 10) : NaN;
}

/** Streams the archive, sampling the API's RSS every ~2 ms; growth is against the median RSS just before. */
async function download(url: string, apiPid: number): Promise<ZipDownload> {
  const before: number[] = [];
  for (let i = 0; i < 25; i++) {
    before.push(rssKiB(apiPid));
    await sleep(4);
  }
  const baseline = before.sort((a, b) => a - b)[12];
  let peak = baseline;
  let samples = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(apiPid));
    samples += 1;
  }, 2);
  const start = performance.now();
  let bytes = 0;
  let tail = Buffer.alloc(0);
  let firstByte = NaN;
  try {
    const res = await fetch(url);
    if (res.status !== 200 || !res.body)
      throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    for await (const chunk of res.body) {
      const buf = Buffer.from(chunk as Uint8Array);
      if (!bytes) firstByte = performance.now() - start;
      bytes += buf.length;
      tail = Buffer.concat([tail, buf]).subarray(-65_536);
    }
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - start) / 1000;
  peak = Math.max(peak, rssKiB(apiPid));
  return {
    bytes,
    seconds,
    firstByteMs: firstByte,
    megabytesPerSecond: bytes / 1e6 / seconds,
    entries: zipEntries(tail),
    baselineMiB: baseline / 1024,
    peakGrowthMiB: (peak - baseline) / 1024,
    samples,
  };
}

/**
 * A batch of generation jobs (omori, 64x64 PNG, 16 per job) making `images` images, then its
 * archive (GET /v1/batches/{id}/archive) downloaded `downloads` times with the worker stopped.
 */
export async function measureZip(
  redis: BenchRedis,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ZipResult> {
  await redis.flush();
  const stack = await startDarkroomStack(redis, options, 1);
  try {
    const total = options.zipImages;
    const requests = Array.from({ length: Math.ceil(total / PER_JOB) }, (_, i) => ({
      type: 'generation',
      model: 'omori-sprite-gan',
      n: Math.min(PER_JOB, total - i * PER_JOB),
      width: IMAGE_SIZE,
      height: IMAGE_SIZE,
      seed: 5_000_000 + i * PER_JOB,
    }));
    const start = performance.now();
    const res = await fetch(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests }),
    });
    const batch = (await res.json()) as { id: string };
    if (res.status !== 202)
      throw new Error(`POST /v1/batches answered ${res.status}: ${JSON.stringify(batch).slice(0, 300)}`);
    for (;;) {
      await sleep(250);
      const view = (await (await fetch(`${stack.url}/v1/batches/${batch.id}`)).json()) as {
        status: string;
        counts: Record<string, number>;
      };
      if (view.status === 'succeeded') break;
      if (view.status === 'failed') throw new Error(`batch ${batch.id} failed: ${JSON.stringify(view.counts)}`);
    }
    const generateSeconds = (performance.now() - start) / 1000;
    log(`  zip: ${total} images in ${requests.length} jobs generated in ${generateSeconds.toFixed(1)} s`);
    await stack.stopWorkers();
    const downloads: ZipDownload[] = [];
    for (let i = 0; i < options.zipDownloads; i++) {
      const d = await download(`${stack.url}/v1/batches/${batch.id}/archive`, stack.api.pid);
      downloads.push(d);
      log(
        `  zip download ${i + 1}: ${(d.bytes / 1e6).toFixed(1)} MB, ${d.entries} entries, ${d.megabytesPerSecond.toFixed(1)} MB/s, peak RSS growth ${d.peakGrowthMiB.toFixed(1)} MiB`,
      );
    }
    return { images: total, jobs: requests.length, imageSize: IMAGE_SIZE, generateSeconds, downloads };
  } finally {
    await stack.stop();
  }
}
