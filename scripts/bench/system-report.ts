import type { ApiResult } from './api-section';
import { ms, triple } from './latency-stats';
import type { QueueOverheadResult } from './queue-overhead-section';
import { num, verdict, type SectionReport } from './report-model';
import type { ZipResult } from './zip-section';

/** Sections 4-6: queue overhead, the API alone, the zip download. */

export function queueSection(q: QueueOverheadResult, others: number): SectionReport {
  const { noop, real } = q;
  const met = noop.completed.p50 <= 2 && noop.completed.p99 <= 10;
  return {
    title: '4. Queue overhead',
    method: [
      `**No inference (BullMQ alone)**: darkroom's producer (\`createJobQueues\` from \`src/jobs/job-queues.ts\`, the options the API uses) adds a generation payload with a \`gen_<uuid>\` id; a BullMQ \`Worker\` whose processor returns at once consumes it; both in the benchmark process, on the private Redis, nothing else running. One job at a time, ${noop.jobs} jobs after 20 warm-up jobs. Measured: \`add()\` -> the worker's \`completed\` event (the job is marked completed in Redis).`,
      `**Cheapest real job**: omori-sprite-gan, n = 1, through the API and one worker, one at a time (${real.jobs} jobs after 10 warm-up). *POST* is the submit round trip; *finished* is submit -> \`finished_at\` in Redis; *seen* is submit -> a client polling every 2 ms sees \`succeeded\`; *queue wait* is \`started_at - created_at\` and *processing* \`finished_at - started_at\` (the worker's whole job: cancel check, inference with the runner's batching delay, PNG, blob store write, progress; ms resolution).`,
    ],
    goals: [
      {
        goal: 'queue overhead (no-op job, idle system) p50 <= 2 ms, p99 <= 10 ms',
        measured: `p50 ${ms(noop.completed.p50)}, p99 ${ms(noop.completed.p99)}`,
        verdict: verdict(met),
        why: met
          ? undefined
          : `each job is several Redis round trips (add script, the worker's wake-up and move to active, move to completed); other processes kept ${others.toFixed(2)} cores busy during this section`,
      },
    ],
    tables: [
      {
        header: ['what', 'p50 / p95 / p99', 'max'],
        rows: [
          ['no-op: add() returned', triple(noop.add), ms(noop.add.max)],
          ['no-op: add() -> completed', `**${triple(noop.completed)}**`, ms(noop.completed.max)],
          ['omori n=1: POST /v1/generations', triple(real.post), ms(real.post.max)],
          ['omori n=1: submit -> finished (Redis)', triple(real.finished), ms(real.finished.max)],
          ['omori n=1: submit -> seen by a client polling every 2 ms', triple(real.seen), ms(real.seen.max)],
          ['omori n=1: queue wait (started - created)', triple(real.wait), ms(real.wait.max)],
          ['omori n=1: processing (finished - started)', triple(real.processing), ms(real.processing.max)],
        ],
      },
    ],
    notes: [],
  };
}

export function apiSection(api: ApiResult): SectionReport {
  const { post, read } = api;
  const met = post.fromSchedule.p99 <= 20 && post.errors === 0;
  const apiCores = post.cpu.byProcess.API ?? 0;
  return {
    title: '5. The API alone',
    method: [
      `API + Redis, no worker (jobs stay queued), so only the HTTP -> zod -> BullMQ path is measured. **POST /v1/generations** (omori-sprite-gan, n = 1) open loop: request i is sent at i/${post.rate} s on a timer whatever earlier ones are doing, for ${post.seconds} s after 200 warm-up requests; latency counts from the scheduled send time (so a late sender counts against the API; from the actual send time in brackets). Node's fetch (undici) with keep-alive.`,
      `**GET /v1/jobs/{id}** closed loop: ${read.connections} concurrent clients reading the jobs just created (queued), for ${read.seconds.toFixed(1)} s after 0.5 s warm-up.`,
    ],
    goals: [
      {
        goal: `POST /v1/generations p99 <= 20 ms at ${post.rate} requests/s`,
        measured: `p99 ${ms(post.fromSchedule.p99)} (${ms(post.fromSend.p99)} from actual send), ${post.errors} errors of ${post.sent}`,
        verdict: verdict(met),
        why: met
          ? undefined
          : `the API spent ${num((apiCores * 1000) / post.rate, 2)} ms of CPU per POST (${apiCores.toFixed(2)} cores at ${post.rate}/s) while other processes used ${post.cpu.others.toFixed(2)} cores; the sender was up to ${ms(post.maxLateness)} late`,
      },
    ],
    tables: [
      {
        header: ['what', 'load', 'result', 'latency p50 / p95 / p99', 'max', 'CPU (cores)'],
        rows: [
          [
            'POST /v1/generations',
            `${post.rate}/s open loop, ${post.sent} sent`,
            `${post.errors} errors`,
            `**${triple(post.fromSchedule)}** (${triple(post.fromSend)})`,
            ms(post.fromSchedule.max),
            `API ${apiCores.toFixed(2)}, redis ${(post.cpu.byProcess.redis ?? 0).toFixed(2)}, clients ${(post.cpu.byProcess.bench ?? 0).toFixed(2)}, others ${post.cpu.others.toFixed(2)}`,
          ],
          [
            'GET /v1/jobs/{id}',
            `${read.connections} connections, closed loop`,
            `**${num(read.requestsPerSecond, 0)} requests/s**, ${read.errors} errors`,
            triple(read.latency),
            ms(read.latency.max),
            `API ${(read.cpu.byProcess.API ?? 0).toFixed(2)}, redis ${(read.cpu.byProcess.redis ?? 0).toFixed(2)}, clients ${(read.cpu.byProcess.bench ?? 0).toFixed(2)}, others ${read.cpu.others.toFixed(2)}`,
          ],
        ],
      },
    ],
    notes: [
      ...Object.entries(post.errorKinds).map(([kind, n]) => `POST error x${n}: ${kind}`),
      ...(read.errors ? [`GET errors: ${read.errors}, first: ${read.firstError}`] : []),
    ],
  };
}

export function zipSection(zip: ZipResult): SectionReport {
  const worst = Math.max(...zip.downloads.map((d) => d.peakGrowthMiB));
  const speeds = zip.downloads.map((d) => d.megabytesPerSecond).sort((a, b) => a - b);
  const median = speeds[Math.floor(speeds.length / 2)];
  const entriesOk = zip.downloads.every((d) => d.entries === zip.images + 1);
  return {
    title: '6. Zip download',
    method: [
      `One \`POST /v1/batches\` of ${zip.jobs} generation jobs (omori-sprite-gan, ${zip.imageSize}x${zip.imageSize} PNG, 16 images per job) = ${zip.images} images, generated by one worker (${zip.generateSeconds.toFixed(1)} s), then the worker stopped. \`GET /v1/batches/{id}/archive\` is streamed ${zip.downloads.length} time(s) by the benchmark; the API's VmRSS (/proc/<pid>/status) is sampled every ~2 ms during the download; growth is the peak minus the median RSS just before. MB = 10^6 bytes, MiB = 2^20.`,
    ],
    goals: [
      {
        goal: `zip of ${zip.images} images: API peak RSS growth < 64 MiB`,
        measured: `${num(worst)} MiB (worst of ${zip.downloads.length}), ${num(median)} MB/s`,
        verdict: verdict(worst < 64 && entriesOk),
        why:
          worst < 64
            ? entriesOk
              ? undefined
              : 'the archive did not hold every image'
            : 'the archive is not streamed entry by entry',
      },
    ],
    tables: [
      {
        header: [
          'download',
          'size',
          'entries',
          'first byte',
          'time',
          'MB/s',
          'RSS before',
          'peak growth',
          'RSS samples',
        ],
        rows: zip.downloads.map((d, i) => [
          String(i + 1),
          `${num(d.bytes / 1e6, 2)} MB`,
          String(d.entries),
          ms(d.firstByteMs),
          `${(d.seconds * 1000).toFixed(0)} ms`,
          `**${num(d.megabytesPerSecond)}**`,
          `${num(d.baselineMiB)} MiB`,
          `**${num(d.peakGrowthMiB)} MiB**`,
          String(d.samples),
        ]),
      },
    ],
    notes: [],
  };
}
