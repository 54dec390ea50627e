import { Command, InvalidArgumentError } from 'commander';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_MODELS, type BenchModel } from './bench/bench-options';
import { REPO, requireBenchInputs } from './bench/bench-paths';
import { installCleanupHandlers } from './bench/cleanup';
import { machineInfo } from './bench/machine-info';
import { renderProfileReport } from './bench/profile-report';
import { profileModel, type ModelProfile } from './bench/profile-run';
import { startBenchRedis } from './bench/redis-launcher';

/**
 * `npm run profile`: where CPU time goes per image. For each model, the API and one worker run
 * under `node --cpu-prof` with closed-loop clients; the report gives CPU ms per image per process
 * (from /proc) and per JS thread and category (from the .cpuprofile files, within the window).
 *
 *   npm run profile -- [--model mobilenetv2-12-int8] [--clients 32] [--seconds 20] [--out docs/profile.md]
 */

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
};

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const model = (value: string): BenchModel => {
  if (!(BENCH_MODELS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${BENCH_MODELS.join(', ')}`);
  return value as BenchModel;
};

interface CliOptions {
  model?: BenchModel;
  clients: number;
  seconds: number;
  warmup: number;
  out?: string;
}

function parseOptions(argv: string[]): CliOptions {
  const program = new Command()
    .name('profile-cpu')
    .description('CPU time per image of the API, the worker and Redis, and per JS thread and category')
    .option('--model <name>', `one model (default: ${BENCH_MODELS.join(', ')}, one after another)`, model)
    .option('--clients <n>', 'closed-loop clients', positiveInt, 32)
    .option('--seconds <s>', 'measured seconds per model, after the warm-up', positive, 20)
    .option('--warmup <s>', 'warm-up seconds per model (not measured)', positive, 3)
    .option('--out <file>', 'also write the markdown report to this file')
    .allowExcessArguments(false);
  program.parse(argv, { from: 'user' });
  return program.opts<CliOptions>();
}

/** The last commit that changed what is profiled (src/ and workers/), so before and after reports can be told apart. */
function codeCommit(): string {
  const log = spawnSync('git', ['log', '-1', '--format=%h %s', '--', 'src', 'workers'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  return log.status === 0 ? log.stdout.trim() : 'unknown';
}

async function main() {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  installCleanupHandlers();
  requireBenchInputs();
  const redis = await startBenchRedis();
  const machine = machineInfo(redis.version);
  await redis.stop();
  const models = options.model ? [options.model] : [...BENCH_MODELS];
  const results: ModelProfile[] = [];
  for (const m of models) {
    process.stderr.write(
      `${m}: ${options.warmup} s warm-up + ${options.seconds} s with ${options.clients} clients...\n`,
    );
    const opts = { clients: options.clients, seconds: options.seconds, warmupSeconds: options.warmup };
    results.push(await profileModel(m, opts));
  }
  const report = renderProfileReport(
    {
      command: ['node dist/scripts/profile-cpu.js', ...argv].join(' '),
      clients: options.clients,
      seconds: options.seconds,
      warmupSeconds: options.warmup,
      machine,
      codeCommit: codeCommit(),
    },
    results,
  );
  process.stdout.write(report);
  if (options.out) {
    fs.mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
    fs.writeFileSync(options.out, report);
    process.stderr.write(`wrote ${options.out}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
