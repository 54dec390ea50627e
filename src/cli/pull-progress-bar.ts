import { Presets, SingleBar } from 'cli-progress';
import type { PullProgress } from '../models/model-pull';

/** 1234567 -> "1.2 MB". */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/**
 * The download's bar on stderr: bytes, rate and ETA over all files. On a terminal cli-progress draws
 * it; elsewhere (pipes, CI, tests) each finished file is one line instead.
 */
export function createPullProgress(stream: NodeJS.WriteStream = process.stderr): {
  onProgress(event: PullProgress): void;
  stop(): void;
} {
  const bar = new SingleBar(
    {
      stream,
      format: '{bar} {percentage}% | {done}/{total_size} | {rate}/s | ETA {eta_formatted} | {file}',
      hideCursor: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const startedAt = Date.now();
  let value = 0;
  let total = 0;
  let running = false;
  const payload = (file: string) => ({
    file,
    done: formatBytes(value),
    total_size: formatBytes(total),
    rate: formatBytes(value / Math.max((Date.now() - startedAt) / 1000, 0.001)),
  });
  return {
    onProgress(event) {
      if (event.type === 'start') {
        total = event.totalBytes;
        if (stream.isTTY) {
          bar.start(total, 0, payload(''));
          running = true;
        }
      } else if (event.type === 'bytes') {
        value += event.delta;
        if (running) bar.update(value, payload(event.file));
      } else if (!stream.isTTY) {
        stream.write(`downloaded ${event.file} (${formatBytes(event.size)})\n`);
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
