import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { SHARED } from './bench/bench-paths';
import { launchNode, sleep, waitUntil } from './bench/process-launcher';
import { startBenchRedis } from './bench/redis-launcher';

/**
 * `npm run build && node dist/scripts/fleet-idle-cost.js [seconds] [counts...]`: what one idle
 * worker costs Redis as the number of models it serves grows. For each count it writes that many
 * model folders (copies of omori-sprite-gan's manifest under other names, the file referenced in
 * place from ../shared), starts one worker with WORKER_MODEL_MEMORY_MB set (so no model loads: an
 * idle fleet member), waits for it to settle, then measures over `seconds` (default 20) with
 * redis INFO and CLIENT LIST: its connections (all of them, and those blocked at that moment), the
 * commands per second Redis processed (as Redis counts them: commands inside BullMQ's Lua scripts
 * too; this script's own INFO calls subtracted) and how much used_memory grew from before the
 * worker started. Prints a Markdown table.
 */
const seconds = Number(process.argv[2] ?? 20);
const counts = process.argv.slice(3).map(Number);

function writeModels(root: string, n: number): void {
  const graph = path.join(SHARED, 'models', 'omori-sprite-gan', 'omori-sprite-gan-dynbatch.onnx');
  if (!fs.existsSync(graph)) throw new Error(`${graph} is missing: the ../shared folder beside the repo holds it`);
  for (let i = 0; i < n; i++) {
    const dir = path.join(root, `idle-model-${i}`);
    fs.mkdirSync(dir, { recursive: true });
    const manifest = {
      name: `idle-model-${i}`,
      kind: 'generator',
      files: { model: graph },
      inputs: { latent: 'random_input' },
      outputs: { image: 'image_output' },
      latent: { shape: [16, 1, 1], distribution: 'normal' },
      output: { width: 32, height: 32, channel_order: 'RGB', range: [-1, 1], layout: 'NCHW' },
      batching: { max_batch_size: 16, max_queue_delay_ms: 4 },
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
  }
}

const processed = async (redis: Redis) => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))![1]);

/** Redis' used_memory in bytes (client buffers included, so connections count too). */
const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

/** Calls per command so far (INFO commandstats). */
async function callsPerCommand(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  return new Map([...text.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

/** The commands that made up most of the window, as `name rate/s`. */
function topCommands(before: Map<string, number>, after: Map<string, number>, seconds: number): string {
  return [...after]
    .map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / seconds] as const)
    .filter(([name, rate]) => rate > 0 && name !== 'info')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, rate]) => `${name} ${rate.toFixed(1)}`)
    .join(', ');
}

async function measure(n: number): Promise<string> {
  const redisServer = await startBenchRedis();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-idle-models-'));
  const probe = new Redis(redisServer.url);
  try {
    writeModels(root, n);
    const memoryBefore = await usedMemory(probe);
    const worker = launchNode(`worker (${n} models)`, 'workers/main.js', {
      ...process.env,
      REDIS_URL: redisServer.url,
      MODELS_PATH: root,
      WORKER_MODEL_MEMORY_MB: '100000',
      DATA_DIR: path.join(root, 'data'),
      LOG_LEVEL: 'info',
    });
    await waitUntil('the worker to be ready', worker, async () => worker.output().includes('worker ready'), 120_000);
    await sleep(5000); // heartbeats, first scans and the watchdog's first rounds
    const memoryGrew = (await usedMemory(probe)) - memoryBefore;
    const own = `id=${String(await probe.client('ID'))} `;
    const clients = (await probe.client('LIST')) as string;
    const lines = clients.split('\n').filter((l) => l && !l.startsWith(own));
    // Flag b: blocked in a command (BullMQ's BZPOPMIN for jobs, XREAD for events).
    const blocked = lines.filter((l) => / flags=\S*b/.test(l)).length;
    const before = await processed(probe);
    const statsBefore = await callsPerCommand(probe);
    await sleep(seconds * 1000);
    const statsAfter = await callsPerCommand(probe);
    const after = await processed(probe);
    await worker.stop();
    // This script's own INFO calls in the window: 3.
    const perSecond = (after - before - 3) / seconds;
    const kib = (memoryGrew / 1024).toFixed(0);
    return `| ${n} | ${lines.length} | ${blocked} | ${perSecond.toFixed(1)} | ${kib} | ${topCommands(statsBefore, statsAfter, seconds)} |`;
  } finally {
    probe.disconnect();
    await redisServer.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main() {
  const rows = [];
  for (const n of counts.length ? counts : [1, 10, 50]) rows.push(await measure(n));
  process.stdout.write(
    [
      `One idle worker (no jobs, no model loaded), ${seconds} s window, on ${os.cpus().length} cores (${os.cpus()[0]?.model}):`,
      '',
      '| models served | Redis connections | of them blocked now | Redis commands/s | Redis used_memory grew (KiB) | most frequent (calls/s) |',
      '| ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
