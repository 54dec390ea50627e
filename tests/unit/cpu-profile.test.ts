import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addTotals, aggregateProfile, categorize, packageOf, type CpuProfile } from '../../scripts/bench/cpu-profile';
import { listProfiles } from '../../scripts/bench/profile-files';

const NM = 'file:///repo/node_modules';
const frame = (functionName: string, url = '') => ({
  functionName,
  url,
  scriptId: '0',
  lineNumber: 0,
  columnNumber: 0,
});

/** Samples at 1010, 1020, ... 1080 (µs); each lasts until the next, the last until endTime 1100. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 6, 7, 8] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(program)') },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('run', `${NM}/onnxruntime-node/dist/backend.js`) },
    { id: 6, callFrame: frame('toTensor', 'file:///repo/dist/workers/imaging/image-tensor.js') },
    { id: 7, callFrame: frame('readableAddChunk', 'node:internal/streams/readable') },
    { id: 8, callFrame: frame('submit', 'file:///repo/dist/src/http/routes/submit-routes.js') },
  ],
  startTime: 1000,
  endTime: 1100,
  samples: [2, 3, 4, 5, 6, 6, 7, 8],
  timeDeltas: [10, 10, 10, 10, 10, 10, 10, 10],
};

test('leaf frames fall into categories by function name and package', () => {
  expect(categorize(frame('(idle)'))).toBe('(idle)');
  expect(categorize(frame('(program)'))).toBe('(program)/native & sharp');
  expect(categorize(frame('parse'))).toBe('(program)/native & sharp'); // a builtin: no script
  expect(categorize(frame('(garbage collector)'))).toBe('(garbage collector)');
  expect(categorize(frame('x', `${NM}/sharp/lib/output.js`))).toBe('sharp');
  expect(categorize(frame('x', `${NM}/bullmq/dist/cjs/classes/worker.js`))).toBe('bullmq');
  expect(categorize(frame('x', `${NM}/@ioredis/commands/built/index.js`))).toBe('ioredis');
  expect(categorize(frame('x', `${NM}/busboy/lib/types/multipart.js`))).toBe('express/router/body parsing');
  expect(categorize(frame('x', `${NM}/router/lib/layer.js`))).toBe('express/router/body parsing');
  expect(categorize(frame('x', `${NM}/pino/lib/proto.js`))).toBe('pino');
  expect(categorize(frame('x', `${NM}/zod/v4/core/schemas.js`))).toBe('other node_modules');
  expect(categorize(frame('x', 'node:internal/streams/readable'))).toBe('node internals');
  expect(categorize(frame('x', 'file:///repo/dist/workers/main.js'))).toBe('darkroom src/');
  expect(categorize(frame('x', 'file:///elsewhere/a.js'))).toBe('other');
  expect(packageOf(`${NM}/a/node_modules/@scope/pkg/x.js`)).toBe('@scope/pkg');
});

test('self time is summed per category and per darkroom file; idle is kept apart', () => {
  const t = aggregateProfile(profile);
  expect(t.idle).toBe(10);
  expect(t.busy).toBe(80); // 7 samples of 10 µs, the last one 20 µs (until endTime)
  expect(t.byCategory['(program)/native & sharp']).toBe(10);
  expect(t.byCategory['(garbage collector)']).toBe(10);
  expect(t.byCategory['onnxruntime-node']).toBe(10);
  expect(t.byCategory['darkroom src/']).toBe(40);
  expect(t.byCategory['node internals']).toBe(10);
  expect(t.byFile).toEqual({ 'workers/imaging/image-tensor.js': 20, 'src/http/routes/submit-routes.js': 20 });
  expect(Object.values(t.byCategory).reduce((a, b) => a + b, 0)).toBe(t.busy);
  expect(t.covered).toBe(100);
});

test('only samples taken inside the window count', () => {
  // Samples at 1030 (GC), 1040 (onnxruntime), 1050 (image-tensor); 1060 is outside (exclusive end).
  const t = aggregateProfile(profile, { from: 1030, to: 1060 });
  expect(t.busy).toBe(30);
  expect(t.idle).toBe(0);
  expect(t.byCategory['(garbage collector)']).toBe(10);
  expect(t.byCategory['onnxruntime-node']).toBe(10);
  expect(t.byCategory['darkroom src/']).toBe(10);
  expect(t.byCategory['(program)/native & sharp']).toBe(0);
  expect(t.byFile).toEqual({ 'workers/imaging/image-tensor.js': 10 });
  expect(t.covered).toBe(30);
  // A window past the profile's end counts nothing.
  expect(aggregateProfile(profile, { from: 5000, to: 6000 }).busy).toBe(0);
});

test('threads of one role add up', () => {
  const a = aggregateProfile(profile, { from: 1000, to: 1050 });
  const b = aggregateProfile(profile, { from: 1050, to: 2000 });
  const sum = addTotals(a, b);
  const whole = aggregateProfile(profile);
  expect(sum.busy).toBe(whole.busy);
  expect(sum.idle).toBe(whole.idle);
  expect(sum.byCategory).toEqual(whole.byCategory);
  expect(sum.byFile).toEqual(whole.byFile);
});

test('profile files are told apart by pid and worker_threads id', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpuprof-test-'));
  try {
    for (const name of [
      'CPU.20261207.051000.42.1.003.cpuprofile',
      'CPU.20261207.051000.42.0.001.cpuprofile',
      'CPU.20261207.051001.7.0.002.cpuprofile',
      'notes.txt',
    ])
      fs.writeFileSync(path.join(dir, name), '{}');
    expect(listProfiles(dir).map((p) => [p.pid, p.threadId])).toEqual([
      [7, 0],
      [42, 0],
      [42, 1],
    ]);
    expect(listProfiles(path.join(dir, 'missing'))).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
