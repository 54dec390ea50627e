/**
 * Self time per category from a V8 .cpuprofile (what `node --cpu-prof` writes, one file per thread).
 *
 * A profile samples one JS thread on a wall-clock timer: a sample's leaf frame is where the thread
 * was, and the time until the next sample is charged to it (as Chrome DevTools does). "(idle)" is a
 * thread waiting in its event loop: not CPU. Timestamps are V8 TimeTicks in µs, on Linux the same
 * CLOCK_MONOTONIC as `process.hrtime` / 1000, so a window taken in another process can filter them.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  scriptId?: string | number;
  lineNumber?: number;
  columnNumber?: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** µs */
  startTime: number;
  /** µs */
  endTime: number;
  /** Node id of each sample's leaf frame. */
  samples: number[];
  /** µs between a sample and the one before it (the first: since startTime). */
  timeDeltas: number[];
}

export const CATEGORIES = [
  '(program)/native & sharp',
  '(garbage collector)',
  'onnxruntime-node',
  'sharp',
  'bullmq',
  'ioredis',
  'express/router/body parsing',
  'pino',
  'darkroom src/',
  'other node_modules',
  'node internals',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];
export const IDLE = '(idle)';

const HTTP_PACKAGES = [
  'express',
  'router',
  'busboy',
  'streamsearch',
  'raw-body',
  'body-parser',
  'finalhandler',
  'send',
  'serve-static',
  'on-finished',
  'type-is',
  'content-type',
  'content-disposition',
  'iconv-lite',
  'path-to-regexp',
  'qs',
  'cookie',
  'accepts',
  'negotiator',
  'mime-types',
  'statuses',
  'http-errors',
  'depd',
  'proxy-addr',
  'express-rate-limit',
  'rate-limit-redis',
];
const PINO_PACKAGES = [
  'pino',
  'pino-http',
  'pino-std-serializers',
  'sonic-boom',
  'thread-stream',
  'fast-redact',
  'quick-format-unescaped',
  'on-exit-leak-free',
  'atomic-sleep',
  'fast-safe-stringify',
];

/** The package a URL under node_modules belongs to (the innermost one, scoped names included). */
export function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const parts = url.slice(at + '/node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** darkroom's own compiled file ("src/jobs/x.js"), or undefined. */
export function darkroomFile(url: string): string | undefined {
  if (url.includes('/node_modules/')) return undefined;
  const m = /\/dist\/((?:src|workers|scripts)\/.*)$/.exec(url);
  return m?.[1];
}

/** The category of a sampled leaf frame; IDLE for "(idle)". */
export function categorize(frame: CallFrame): Category | typeof IDLE {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return IDLE;
  if (fn === '(garbage collector)') return '(garbage collector)';
  if (fn === '(program)' || !url) return '(program)/native & sharp';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = packageOf(url);
  if (pkg === 'onnxruntime-node' || pkg === 'onnxruntime-common') return 'onnxruntime-node';
  if (pkg === 'sharp' || url.includes('/sharp/')) return 'sharp';
  if (pkg === 'bullmq') return 'bullmq';
  if (pkg === 'ioredis' || pkg === '@ioredis/commands' || pkg === 'redis-parser') return 'ioredis';
  if (pkg && HTTP_PACKAGES.includes(pkg)) return 'express/router/body parsing';
  if (pkg && PINO_PACKAGES.includes(pkg)) return 'pino';
  if (pkg) return 'other node_modules';
  if (darkroomFile(url)) return 'darkroom src/';
  return 'other';
}

/** Self time of one thread, in µs, from the samples within the window. */
export interface ProfileTotals {
  byCategory: Record<Category, number>;
  /** Self time of darkroom's own files, by file relative to dist/. */
  byFile: Record<string, number>;
  /** Everything but idle. */
  busy: number;
  idle: number;
  /** The part of the window the profile covered (µs). */
  covered: number;
}

export interface Window {
  /** µs, inclusive */
  from: number;
  /** µs, exclusive */
  to: number;
}

const emptyCategories = () => Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;

/**
 * Sums self time per category over the samples taken within `window` (all of them without one).
 * Sample i lasts until sample i + 1 (the last one until endTime).
 */
export function aggregateProfile(profile: CpuProfile, window?: Window): ProfileTotals {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const totals: ProfileTotals = { byCategory: emptyCategories(), byFile: {}, busy: 0, idle: 0, covered: 0 };
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  const from = window?.from ?? -Infinity;
  const to = window?.to ?? Infinity;
  for (let i = 0; i < profile.samples.length; i++) {
    if (times[i] < from || times[i] >= to) continue;
    const frame = frames.get(profile.samples[i]);
    if (!frame) continue;
    const duration = Math.max(0, (i + 1 < times.length ? times[i + 1] : profile.endTime) - times[i]);
    const category = categorize(frame);
    if (category === IDLE) {
      totals.idle += duration;
      continue;
    }
    totals.busy += duration;
    totals.byCategory[category] += duration;
    const file = category === 'darkroom src/' ? darkroomFile(frame.url) : undefined;
    if (file) totals.byFile[file] = (totals.byFile[file] ?? 0) + duration;
  }
  totals.covered = Math.max(0, Math.min(to, profile.endTime) - Math.max(from, profile.startTime));
  return totals;
}

/** Adds `b` into `a` (threads of one role summed). */
export function addTotals(a: ProfileTotals, b: ProfileTotals): ProfileTotals {
  const byFile = { ...a.byFile };
  for (const [f, v] of Object.entries(b.byFile)) byFile[f] = (byFile[f] ?? 0) + v;
  const byCategory = emptyCategories();
  for (const c of CATEGORIES) byCategory[c] = a.byCategory[c] + b.byCategory[c];
  return { byCategory, byFile, busy: a.busy + b.busy, idle: a.idle + b.idle, covered: Math.max(a.covered, b.covered) };
}

export const noTotals = (): ProfileTotals => ({
  byCategory: emptyCategories(),
  byFile: {},
  busy: 0,
  idle: 0,
  covered: 0,
});
