import { spawn } from 'node:child_process';
import path from 'node:path';
import { trackChild } from '../bench/cleanup';
import { CASE_MARKER, type CaseTiming, type TimingPlan } from './timing-cases';

export interface TimingRun {
  cases: CaseTiming[];
  placements: Record<string, Record<string, number>>;
  log_lines: string[];
  /** How the child ended: `exit 0`, `exit 1`, `signal SIGSEGV`, `timed out after N s`. */
  ended: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const PLACED = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/;
/** onnxruntime's errors and warnings, Dawn's messages, and anything naming the adapter or a provider library. */
const WORTH_KEEPING = /\[[EW]:onnxruntime|error|fail|couldn't|cannot|warning|adapter|vulkan|dawn|libonnxruntime_providers|cuda/i;
/** onnxruntime's verbose and info lines are kept only when they say which device or adapter it found. */
const ORT_CHATTER = /\[[VI]:onnxruntime/;
const ORT_DEVICE = /adapter|vendor|Discovered|device_id/i;
const MAX_LOG_LINES = 60;

/** Runs raw-timing.js for one provider in a child process; keeps what it printed however it ends. */
export function runTimingChild(node: string, dist: string, plan: TimingPlan, timeoutMs: number): Promise<TimingRun> {
  return new Promise((resolve) => {
    const child = trackChild(spawn(node, [path.join(dist, 'scripts', 'gpu-kit', 'raw-timing.js'), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] }), `raw timing (${plan.provider})`);
    const run: TimingRun = { cases: [], placements: {}, log_lines: [], ended: '' };
    let current = '';
    const seen = new Set<string>();
    const lineReader = (onLine: (line: string) => void) => {
      let partial = '';
      return (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        parts.forEach(onLine);
      };
    };
    child.stdout!.on('data', lineReader((line) => {
      try {
        run.cases.push(JSON.parse(line) as CaseTiming);
      } catch {
        // not one of ours
      }
    }));
    child.stderr!.on('data', lineReader((raw) => {
      const line = raw.replace(ANSI, '').trim();
      if (line.startsWith(CASE_MARKER)) {
        current = line.slice(CASE_MARKER.length);
        return;
      }
      const placed = PLACED.exec(line);
      if (placed) {
        (run.placements[current] ??= {})[placed[1]] = Number(placed[2]);
        return;
      }
      // Messages repeat per session: each is kept once.
      const text = line.replace(/^\S+ \S+ /, '');
      const wanted = ORT_CHATTER.test(line) ? ORT_DEVICE.test(line) : WORTH_KEEPING.test(line);
      if (!wanted || seen.has(text) || run.log_lines.length >= MAX_LOG_LINES) return;
      seen.add(text);
      run.log_lines.push(`${current ? `[${current}] ` : ''}${line.slice(0, 800)}`);
    }));
    const timer = setTimeout(() => {
      run.ended = `timed out after ${Math.round(timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      run.ended ||= signal ? `signal ${signal}` : `exit ${code}`;
      resolve(run);
    });
  });
}
