import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/** What the report says about the machine: enough to tell which GPU, driver and loaders a result came from. */
export function machineFacts(setupFile: string): Record<string, unknown> {
  const cmd = (command: string, args: string[]) => {
    const res = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
    return res.error ? `not available (${res.error.message})` : `${res.stdout}${res.stderr}`.trim() || `exit ${res.status}`;
  };
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return {
    uname: cmd('uname', ['-srm']),
    cpus: `${os.availableParallelism()} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB`,
    glibc: header?.glibcVersionRuntime ?? 'unknown',
    node: process.version,
    gpu: cmd('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']),
    setup: setupFile && fs.existsSync(setupFile) ? fs.readFileSync(setupFile, 'utf8').trim().split('\n') : [],
    LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH ?? '',
    VK_DRIVER_FILES: process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? '',
  };
}

/** onnxruntime-node's version, the backends its binding lists, and where it looks for provider libraries. */
export function onnxruntimeFacts(): { version: string; supported_backends: unknown; library_search: Record<string, unknown> } {
  const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const files = fs.existsSync(bin) ? fs.readdirSync(bin) : [];
  return {
    version: ort.env.versions.node ?? ort.env.versions.common,
    supported_backends: ort.listSupportedBackends?.() ?? 'not exposed',
    library_search: {
      onnxruntime_bin: bin,
      onnxruntime_bin_files: files,
      provider_libraries: files.filter((f) => f.startsWith('libonnxruntime_providers_')),
      LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH ?? '',
    },
  };
}
