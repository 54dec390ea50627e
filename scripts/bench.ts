import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureApi } from './bench/api-section';
import { parseBenchOptions } from './bench/bench-options';
import { requireBenchInputs } from './bench/bench-paths';
import { measureCeiling, type CeilingResult } from './bench/ceiling-section';
import { checkSameWork } from './bench/fidelity-check';
import { cleanupAll, installCleanupHandlers, liveChildren } from './bench/cleanup';
import { cpuBetween, snapshot } from './bench/cpu-monitor';
import { measureModel, startSystems, type EndToEndResult } from './bench/end-to-end-section';
import { machineInfo } from './bench/machine-info';
import { measureQueueOverhead } from './bench/queue-overhead-section';
import { startBenchRedis } from './bench/redis-launcher';
import { renderReport, type SectionLoad } from './bench/report-writer';
import { apiSection, queueSection, zipSection } from './bench/system-report';
import { ceilingSection, endToEndSection, naiveSection } from './bench/throughput-report';
import { workloadFor } from './bench/workloads';
import { measureZip } from './bench/zip-section';

/**
 * `npm run bench`: darkroom against a raw-loop ceiling and a naive inline server, plus queue, API
 * and zip figures; writes docs/benchmarks.md. Starts its own Redis, API, workers and naive server
 * and removes them (and their temp folders) however it ends.
 *
 *   npm run bench -- [--quick] [--models a,b] [--out docs/benchmarks.md]
 */
async function main() {
  const options = parseBenchOptions(process.argv.slice(2));
  installCleanupHandlers();
  requireBenchInputs();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const started = snapshot();
  const redis = await startBenchRedis();
  const machine = machineInfo(redis.version);
  const loads: SectionLoad[] = [];
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    log(`${name}...`);
    const before = snapshot(liveChildren());
    const t = performance.now();
    const result = await run();
    loads.push({
      section: name,
      seconds: (performance.now() - t) / 1000,
      cpu: cpuBetween(before, snapshot(liveChildren())),
      loadAverage: os.loadavg()[0],
    });
    return result;
  };

  const workloads = options.models.map(workloadFor);
  const ceilings: CeilingResult[] = [];
  const e2e: EndToEndResult[] = [];
  const sameWork: string[] = [];
  const systems = await section('start darkroom (x2) and the naive server', () =>
    startSystems(redis, workloads, options),
  );
  try {
    // Each model's ceiling and end-to-end runs follow each other, so they see similar background load.
    for (const w of workloads) {
      await section(w.model, async () => {
        ceilings.push(await measureCeiling(w, options, log));
        sameWork.push(await checkSameWork(systems.batching, w));
        log(`  ${sameWork[sameWork.length - 1]}`);
        e2e.push({ model: w.model, runs: await measureModel(systems, redis, w, options, log) });
      });
    }
  } finally {
    await systems.stop();
  }
  const queue = await section('queue overhead', () => measureQueueOverhead(redis, options));
  const api = await section('API', () => measureApi(redis, options));
  const zip = await section('zip', () => measureZip(redis, options, log));
  await redis.stop();

  const whole = cpuBetween(started, snapshot());
  const queueOthers = loads.find((l) => l.section === 'queue overhead')?.cpu.others ?? 0;
  const report = renderReport(options, machine, whole, loads, [
    ceilingSection(ceilings, sameWork, options),
    endToEndSection(e2e, ceilings, workloads, options),
    naiveSection(e2e, options),
    queueSection(queue, queueOthers),
    apiSection(api),
    zipSection(zip),
  ]);
  const out = path.resolve(options.out);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, report);
  log(`wrote ${out}`);
}

main()
  .then(() => cleanupAll())
  .catch(async (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    await cleanupAll();
    process.exitCode = 1;
  });
