import { Command, InvalidArgumentError } from 'commander';

/** The models the benchmark knows how to drive, in report order. */
export const BENCH_MODELS = ['mobilenetv2-12-int8', 'omori-sprite-gan', 'demo-diffusion'] as const;
export type BenchModel = (typeof BENCH_MODELS)[number];

/** What one `npm run bench` does: durations, loads and where the report goes. */
export interface BenchOptions {
  quick: boolean;
  models: BenchModel[];
  out: string;
  /** The command line that reproduces this run, as written in the report. */
  command: string;
  /** Closed-loop client counts for the end-to-end and naive runs. */
  concurrency: number[];
  /** Measured seconds of each closed-loop run, after `warmupSeconds`. */
  runSeconds: number;
  warmupSeconds: number;
  /** A closed-loop run at the largest client count before the first measured run of each model (JIT, first batches). */
  extraWarmupSeconds: number;
  /** Batch sizes tried for the ceiling, and seconds per try. */
  ceilingBatches: number[];
  ceilingSeconds: number;
  /**
   * How a darkroom client learns that its job finished: `wait` sends `Prefer: wait` with the
   * submission (one request per job; polls only if the wait runs out), `poll` polls
   * GET /v1/jobs/{id} every `pollMs`.
   */
  clientMode: ClientMode;
  /** Interval between a darkroom client's polls of GET /v1/jobs/{id}. */
  pollMs: number;
  /** BullMQ concurrency of the benchmarked worker (jobs in flight, shared batching). */
  workerConcurrency: number;
  /** ORT_INTRA_OP_THREADS of the benchmarked workers (0: darkroom's default, half the cores). */
  workerThreads: number;
  /** Requests per second of the GET /healthz probe while a server is saturated. */
  healthRate: number;
  queueJobs: number;
  apiRate: number;
  apiSeconds: number;
  readSeconds: number;
  readConnections: number;
  zipImages: number;
  zipDownloads: number;
  logLevel: string;
}

export const CLIENT_MODES = ['wait', 'poll'] as const;
export type ClientMode = (typeof CLIENT_MODES)[number];

const clientMode = (value: string): ClientMode => {
  if (!(CLIENT_MODES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${CLIENT_MODES.join(', ')}`);
  return value as ClientMode;
};

const intList = (value: string): number[] => {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1))
    throw new InvalidArgumentError('expected positive integers separated by commas');
  return list;
};

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const nonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
};

const modelList = (value: string): BenchModel[] => {
  const names = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(BENCH_MODELS as readonly string[]).includes(n));
  if (unknown.length || !names.length)
    throw new InvalidArgumentError(
      `unknown model(s) ${unknown.join(', ') || '(none)'}; known: ${BENCH_MODELS.join(', ')}`,
    );
  return BENCH_MODELS.filter((m) => names.includes(m));
};

/** Parses argv; `--quick` shrinks every duration and count to a ~1 minute smoke run. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  const program = new Command()
    .name('bench')
    .description('darkroom throughput and latency against a raw-loop ceiling and a naive inline server')
    .option('--quick', 'about one minute: short runs, one client count, fewer samples', false)
    .option('--models <list>', `comma-separated models (${BENCH_MODELS.join(', ')})`, modelList, [...BENCH_MODELS])
    .option('--out <file>', 'markdown report to write', 'docs/benchmarks.md')
    .option('--concurrency <list>', 'closed-loop client counts (default 8,16,32; quick: 16)', intList)
    .option('--seconds <s>', 'measured seconds per closed-loop run (default 8; quick: 2)', positive)
    .option(
      '--clients <mode>',
      'how darkroom clients wait for a job: "wait" (Prefer: wait on the submission) or "poll" (GET every --poll-ms)',
      clientMode,
      'wait',
    )
    .option('--poll-ms <ms>', "interval between a client's job polls", positive, 25)
    .option('--worker-concurrency <n>', 'WORKER_CONCURRENCY of the benchmarked worker', positive, 32)
    .option(
      '--worker-threads <n>',
      "ORT_INTRA_OP_THREADS of the benchmarked workers (0: darkroom's default)",
      nonNegativeInt,
      0,
    )
    .option('--log-level <level>', 'LOG_LEVEL of the API and worker processes', 'warn')
    .allowExcessArguments(false);
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    quick: boolean;
    models: BenchModel[];
    out: string;
    concurrency?: number[];
    seconds?: number;
    clients: ClientMode;
    pollMs: number;
    workerConcurrency: number;
    workerThreads: number;
    logLevel: string;
  }>();
  const quick = o.quick;
  return {
    quick,
    models: o.models,
    out: o.out,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    concurrency: o.concurrency ?? (quick ? [16] : [8, 16, 32]),
    runSeconds: o.seconds ?? (quick ? 2 : 8),
    warmupSeconds: quick ? 1 : 2,
    extraWarmupSeconds: quick ? 0 : 3,
    ceilingBatches: quick ? [1, 8] : [1, 4, 8, 16],
    ceilingSeconds: quick ? 0.5 : 2.5,
    clientMode: o.clients,
    pollMs: o.pollMs,
    workerConcurrency: Math.round(o.workerConcurrency),
    workerThreads: o.workerThreads,
    healthRate: 10,
    queueJobs: quick ? 60 : 500,
    apiRate: 200,
    apiSeconds: quick ? 2 : 10,
    readSeconds: quick ? 1 : 5,
    readConnections: 8,
    zipImages: 1000,
    zipDownloads: quick ? 1 : 3,
    logLevel: o.logLevel,
  };
}
