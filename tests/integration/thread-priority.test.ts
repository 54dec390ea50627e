import fs from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { defaultPoolSize } from '../../src/thread-pool';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Linux sets nice per thread. WORKER_INFERENCE_NICE lowers the worker's inference threads and
 * THREAD_POOL_NICE lowers libuv's pool in API and worker, where sharp decodes and encodes (the
 * threads libvips starts from there inherit it). Each process's main thread, which answers HTTP and
 * renews BullMQ locks, keeps the priority it started with.
 */

interface ThreadInfo {
  name: string;
  nice: number;
}

/** Name and nice value of every thread of a process, read from /proc/<pid>/task/<tid>/{comm,stat}. */
function threads(pid: number): Map<number, ThreadInfo> {
  const found = new Map<number, ThreadInfo>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    found.set(Number(tid), { name, nice: Number(fields[19 - 3]) });
  }
  return found;
}

const nices = (pid: number) => [...threads(pid).values()].map((t) => t.nice);
/** The nice value this test process runs at, which API and worker inherit. */
const startedNice = () => threads(process.pid).get(process.pid)!.nice;
/** libuv's pool in API and worker: the operator's UV_THREADPOOL_SIZE, or one thread per core (at least 4). */
const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE || defaultPoolSize(os.availableParallelism()));

/** A classification (the API decodes the upload) and a generation (the worker encodes PNGs), both finished. */
async function decodeAndEncode(stack: Stack): Promise<void> {
  const photo = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#3a7' } })
    .jpeg()
    .toBuffer();
  const form = new FormData();
  form.set('model', 'demo-colors');
  form.append('image', new Blob([photo]), 'photo.jpg');
  const classified = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
  expect(classified.status).toBe(202);
  const generated = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', prompt: 'a lake', n: 2 });
  expect(generated.status).toBe(202);
  for (const id of [classified.body.id, generated.body.id])
    expect((await waitForJob(stack.url, id as string)).status).toBe('succeeded');
}

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('thread priority', () => {
  let stack: Stack;
  afterEach(async () => {
    await stack?.stop();
  });

  test('by default inference threads run at nice 10, the image threads at 5, and the main threads as started', async () => {
    stack = await startStack();
    await decodeAndEncode(stack);
    const own = startedNice();
    const pool = Math.max(own, 5);

    const api = threads(stack.api.child.pid!);
    expect(api.get(stack.api.child.pid!)!.nice).toBe(own);
    const vips = [...api.values()].filter((t) => t.name === 'libvips worker');
    expect(vips.length).toBeGreaterThan(0);
    expect(vips.map((t) => t.nice)).toEqual(vips.map(() => pool));
    expect([...api.values()].filter((t) => t.name !== 'libvips worker' && t.nice === pool)).toHaveLength(POOL_SIZE);

    const workerPid = stack.workers[0].child.pid!;
    expect(threads(workerPid).get(workerPid)!.nice).toBe(own);
    // One inference thread per loaded graph; the demo models alone load several.
    expect(nices(workerPid).filter((n) => n === Math.max(own, 10)).length).toBeGreaterThanOrEqual(2);
    expect(nices(workerPid).filter((n) => n === pool).length).toBeGreaterThanOrEqual(POOL_SIZE);
  });

  test("an operator's UV_THREADPOOL_SIZE sizes the pool, and every thread of it is lowered", async () => {
    stack = await startStack({ env: { UV_THREADPOOL_SIZE: String(POOL_SIZE + 2) } });
    await decodeAndEncode(stack);
    const pool = Math.max(startedNice(), 5);
    const api = [...threads(stack.api.child.pid!).values()];
    expect(api.filter((t) => t.name !== 'libvips worker' && t.nice === pool)).toHaveLength(POOL_SIZE + 2);
  });

  test('WORKER_INFERENCE_NICE=0 and THREAD_POOL_NICE=0 leave every thread as started', async () => {
    stack = await startStack({ env: { THREAD_POOL_NICE: '0' }, workerEnv: { WORKER_INFERENCE_NICE: '0' } });
    await decodeAndEncode(stack);
    expect(new Set(nices(stack.api.child.pid!))).toEqual(new Set([startedNice()]));
    expect(new Set(nices(stack.workers[0].child.pid!))).toEqual(new Set([startedNice()]));
  });
});
