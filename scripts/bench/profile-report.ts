import { CATEGORIES } from './cpu-profile';
import type { MachineInfo } from './machine-info';
import type { ModelProfile, ThreadProfile } from './profile-run';
import { num, type Table } from './report-model';
import { table } from './report-writer';

/** The command line, options and machine the report states in its header. */
export interface ProfileRun {
  command: string;
  clients: number;
  seconds: number;
  warmupSeconds: number;
  machine: MachineInfo;
  /** The last commit that changed src/ or workers/: hash and subject. */
  codeCommit: string;
}

const OTHER_THREADS = 'other threads (libuv pool: sharp, fs; onnxruntime intra-op; GC)';

/** CPU ms per image of `cores` used over the model's window. */
const perImage = (m: ModelProfile, cores: number) => (cores * m.seconds * 1000) / m.images;
/** µs of profile self time -> ms per image. */
const usPerImage = (m: ModelProfile, us: number) => us / 1000 / m.images;

const PROCESSES: [string, string][] = [
  ['darkroom API', 'API'],
  ['darkroom worker 1', 'worker'],
  ['redis-server', 'redis-server'],
  ['bench', 'load generator (this process: the clients)'],
];

function processTable(m: ModelProfile): Table {
  const rows = PROCESSES.map(([key, label]) => {
    const cores = m.cpu.byProcess[key] ?? 0;
    return [label, num(cores, 2), num(perImage(m, cores), 2)];
  });
  rows.push(['other processes (not started by the profiler)', num(m.cpu.others, 2), '']);
  return {
    caption: 'CPU per process in the window (utime + stime from /proc/<pid>/stat)',
    header: ['process', 'cores used', 'CPU ms/image'],
    rows,
  };
}

const threadLabel = (t: ThreadProfile) =>
  t.threadIds.length > 1 ? `${t.role} (${t.threadIds.length} threads)` : t.role;

/**
 * CPU per µs of profiled (non-idle, wall-clock) time: a main thread's schedstat CPU over its
 * profile's busy time; worker_threads, whose OS thread is not known, take their process's main
 * thread's ratio.
 */
function scaleOf(m: ModelProfile, t: ThreadProfile): number {
  const api = t.role.startsWith('API');
  const use = api ? m.threadCpu.api : m.threadCpu.worker;
  const main = m.threads.find((x) => x.role === (api ? 'API main thread' : 'worker main thread'));
  return main && main.totals.busy > 0 ? use.mainRunNs / 1000 / main.totals.busy : 1;
}

function categoryTable(m: ModelProfile): Table {
  const cell = (t: ThreadProfile, us: number) => num(usPerImage(m, us * scaleOf(m, t)), 2);
  const raw = (t: ThreadProfile, us: number) => num(usPerImage(m, us), 2);
  const rows = CATEGORIES.filter((c) => m.threads.some((t) => t.totals.byCategory[c] > 0)).map((c) => [
    c,
    ...m.threads.map((t) => cell(t, t.totals.byCategory[c])),
  ]);
  rows.push(['**thread CPU (sum of the above)**', ...m.threads.map((t) => `**${cell(t, t.totals.busy)}**`)]);
  rows.push(['profiled non-idle wall time (before scaling)', ...m.threads.map((t) => raw(t, t.totals.busy))]);
  rows.push(['scale: CPU / profiled time', ...m.threads.map((t) => num(scaleOf(m, t), 2))]);
  rows.push(['(idle): waiting in the event loop, not CPU', ...m.threads.map((t) => raw(t, t.totals.idle))]);
  return {
    caption:
      "Self time per category in each JS thread, CPU ms/image (profile samples in the window, scaled to the thread's CPU)",
    header: ['category', ...m.threads.map(threadLabel)],
    rows,
  };
}

function fileTable(m: ModelProfile): Table {
  const sum = new Map<string, number>();
  for (const t of m.threads)
    for (const [f, us] of Object.entries(t.totals.byFile)) sum.set(f, (sum.get(f) ?? 0) + us * scaleOf(m, t));
  const top = [...sum].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return {
    caption: 'darkroom files with the most self time (top 8, all threads), CPU ms/image (scaled as above)',
    header: ['file (under dist/)', ...m.threads.map(threadLabel)],
    rows: top.map(([f]) => [
      f,
      ...m.threads.map((t) => num(usPerImage(m, (t.totals.byFile[f] ?? 0) * scaleOf(m, t)), 2)),
    ]),
  };
}

function nativeTable(m: ModelProfile): Table {
  const row = (label: string, api: boolean) => {
    const use = api ? m.threadCpu.api : m.threadCpu.worker;
    const workers = m.threads.filter((t) => t.role !== 'API main thread' && t.role !== 'worker main thread');
    const js = workers
      .filter((t) => t.role.startsWith('API') === api)
      .reduce((s, t) => s + t.totals.busy * scaleOf(m, t), 0);
    // /proc/<pid>/stat, so threads that ended within the window (libvips's come and go) are in it too.
    const all = perImage(m, m.cpu.byProcess[api ? 'darkroom API' : 'darkroom worker 1'] ?? 0);
    const main = use.mainRunNs / 1e6 / m.images;
    const threads = usPerImage(m, js);
    const named = (name: string) => (use.othersByName[name] ?? 0) / 1e6 / m.images;
    const vips = named('libvips worker');
    const profiler = named('v8:ProfEvntProc');
    return [
      label,
      num(all, 2),
      num(main, 2),
      num(threads, 2),
      num(vips, 2),
      num(profiler, 2),
      num(all - main - threads - vips - profiler, 2),
      num(use.mainWaitNs / 1e6 / m.images, 2),
    ];
  };
  return {
    caption:
      "Where the API's and the worker's CPU goes, ms/image: main thread measured (schedstat), worker_threads estimated from their profiles, the rest runs on threads V8 does not sample",
    header: [
      'process',
      'process CPU (/proc stat)',
      'JS main thread',
      'JS worker_threads (inference; estimated)',
      "sharp's libvips threads",
      'profiler threads (v8:ProfEvntProc: the cost of --cpu-prof)',
      OTHER_THREADS,
      'main thread runnable, waiting for a core (not CPU)',
    ],
    rows: [row('API', true), row('worker', false)],
  };
}

function modelSection(m: ModelProfile): string {
  const summary =
    `${m.clients} closed-loop clients; window ${num(m.seconds, 1)} s; ${num(m.imagesPerSecond, 1)} images/s ` +
    `(${num(m.images, 0)} images in the window, ${m.requests} requests counted, ${m.errors} errors${m.firstError ? `: ${m.firstError}` : ''}); ` +
    `other processes used ${num(m.cpu.others, 2)} of ${m.cpu.cores} cores. Shutdown: ${m.exits.join('; ')}.`;
  const tables = m.threads.length
    ? [processTable(m), nativeTable(m), categoryTable(m), fileTable(m)]
    : [processTable(m)];
  return [`## ${m.model}\n`, `${summary}\n`, ...tables.map(table)].join('\n');
}

function busyNote(models: ModelProfile[], cores: number): string {
  const worst = Math.max(...models.map((m) => m.cpu.others));
  const mean = models.reduce((s, m) => s + m.cpu.others, 0) / models.length;
  return `How busy the machine was: processes the profiler did not start used ${num(mean, 2)} of ${cores} cores on average over the windows (at most ${num(worst, 2)}). Throughput is therefore not the point of this report; CPU ms per image is, though a busy machine still adds some (cache misses, preempted spinning threads).`;
}

export function renderProfileReport(run: ProfileRun, models: ModelProfile[]): string {
  const m = run.machine;
  return [
    '# CPU profile: where CPU time goes per image',
    '',
    `Generated by \`scripts/profile-cpu.ts\` on ${m.date} at commit ${m.commit}; src/ and workers/ as of ${run.codeCommit.replace(/ .*/, '')} ("${run.codeCommit.replace(/^\S+ /, '')}"):`,
    '',
    '```bash',
    run.command,
    '```',
    '',
    table({
      header: ['CPU', 'cores', 'memory', 'OS', 'Node', 'runtime', 'sharp', 'BullMQ', 'Express', 'Redis', 'commit'],
      rows: [
        [
          m.cpu,
          String(m.cores),
          `${m.memoryGiB} GiB`,
          m.os,
          m.node,
          m.onnxruntime,
          m.sharp,
          m.bullmq,
          m.express,
          m.redis,
          m.commit,
        ],
      ],
    }),
    busyNote(models, m.cores),
    '',
    `Per model: a private redis-server, the API and one worker from dist/ (as \`npm run bench\` starts them: RESULT_CACHE_MB=0, limits raised, WORKER_CONCURRENCY=32), both with \`node --cpu-prof\`; ${run.clients} closed-loop clients (\`Prefer: wait\`, the bench's requests) run ${run.warmupSeconds} s of warm-up, then the window of ${run.seconds} s. CPU per process is utime + stime from /proc at the start and end of the window; images per second come from the requests that finished in the window. The profiles cover the whole life of each process; only samples whose timestamps fall in the window are counted.`,
    '',
    `A profile samples one JS thread (the main thread, or a worker_thread: the inference threads, one per model the worker loaded) on a wall-clock timer. "(idle)" samples are the thread waiting in its event loop: not CPU. "(program)/native & sharp" is time in V8/Node native code with no JS frame, or in a frame without a script (a builtin such as JSON.parse). Because the timer is wall-clock, a thread that is runnable but waiting for a core still collects samples, so on a busy 2-core machine a thread's profiled time exceeds its CPU time. The category tables therefore scale each thread's samples to CPU: a main thread's CPU comes from /proc/<pid>/task/<pid>/schedstat (its OS thread is the process's), and the inference threads, whose OS threads Node 20 does not name, take their process's main-thread ratio (an estimate). The CPU left when the JS threads are taken from the process's (the sum over all its threads in schedstat) runs on threads V8 does not sample: libuv's pool (sharp's decode, resize and encode, fs), onnxruntime's intra-op threads, V8's GC helper threads. Threads are told apart by name where they have one: sharp's "libvips worker" threads and the profiler's own "v8:ProfEvntProc" threads (one per profiled JS thread: the cost of profiling, as is the sampling signal each JS thread handles, even an idle one); the rest is the "${OTHER_THREADS}" column, which also holds threads that ended within the window and the sampling cost of idle inference threads.`,
    '',
    ...models.map(modelSection),
  ].join('\n');
}
