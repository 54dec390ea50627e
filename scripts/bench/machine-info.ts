import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './bench-paths';
import { ORT_VERSION } from './inline-model';

/** What the figures were measured on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  onnxruntime: string;
  sharp: string;
  bullmq: string;
  express: string;
  redis: string;
  commit: string;
  date: string;
  loadBefore: number[];
}

const packageVersion = (name: string) => {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
};

function gitCommit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: REPO,
    encoding: 'utf8',
  }).stdout.trim();
  return `${head.stdout.trim()}${dirty ? ' + uncommitted changes' : ''}`;
}

export function machineInfo(redisVersion: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: `onnxruntime-node ${ORT_VERSION} (CPU EP)`,
    sharp: packageVersion('sharp'),
    bullmq: packageVersion('bullmq'),
    express: packageVersion('express'),
    redis: redisVersion,
    commit: gitCommit(),
    date: new Date().toISOString(),
    loadBefore: os.loadavg(),
  };
}
