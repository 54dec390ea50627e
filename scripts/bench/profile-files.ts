import fs from 'node:fs';
import path from 'node:path';
import type { CpuProfile } from './cpu-profile';

/** One .cpuprofile that `node --cpu-prof` wrote: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile. */
export interface ProfileFile {
  file: string;
  pid: number;
  /** Node's worker_threads threadId: 0 is the main thread. */
  threadId: number;
}

const NAME = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/;

/** The profiles in `dir` (none if it does not exist), by pid and thread. */
export function listProfiles(dir: string): ProfileFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => ({ name, m: NAME.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ file: path.join(dir, name), pid: Number(m[1]), threadId: Number(m[2]) }))
    .sort((a, b) => a.pid - b.pid || a.threadId - b.threadId);
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
}

/** The node flags that make a process write its profiles into `dir` when it exits. */
export const cpuProfFlags = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`];
