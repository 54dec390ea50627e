import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';
import { REPO } from '../helpers/paths';

/** What can be checked of docker/ without a Docker engine: names, references and values agree with the repo. */

const DOCKER = path.join(REPO, 'docker');
const packageJson = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

interface Instruction {
  keyword: string;
  args: string;
  /** The stage the instruction belongs to. */
  stage: string;
}

/** Logical Dockerfile instructions: comments dropped, continuation lines joined. */
function parseDockerfile(text: string): { stages: string[]; instructions: Instruction[] } {
  const logical = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: string[] = [];
  const instructions: Instruction[] = [];
  for (const line of logical) {
    const [, keyword, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!keyword) throw new Error(`unparsable Dockerfile line: ${line}`);
    if (keyword.toUpperCase() === 'FROM') {
      const as = /\s+AS\s+([\w.-]+)\s*$/i.exec(args);
      stages.push(as ? as[1] : `#${stages.length}`);
    }
    instructions.push({ keyword: keyword.toUpperCase(), args, stage: stages[stages.length - 1] ?? '' });
  }
  return { stages, instructions };
}

/** The commands of a RUN or CMD: exec form (JSON array) or shell form split on && ; ||, env assignments dropped. */
function commandsOf(args: string): string[][] {
  const body = args.replace(/^(--\S+\s+)+/, '').replace(/^CMD\s+/, '');
  if (body.startsWith('[')) return [JSON.parse(body) as string[]];
  return body
    .split(/&&|\|\||;/)
    .map((part) => part.trim().split(/\s+/).filter(Boolean))
    .map((words) => words.slice(words.findIndex((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w))))
    .filter((words) => words.length > 0);
}

/** Turns `${NAME:-default}` into its default, as compose does when NAME is unset. */
const withDefaults = (value: unknown) =>
  String(value).replace(/\$\{(\w+):?-([^}]*)\}/g, (_m, _name, fallback: string) => fallback);

const dockerfileText = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
const dockerfile = parseDockerfile(dockerfileText);
const compose = parse(fs.readFileSync(path.join(DOCKER, 'compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Record<string, any>>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const darkroomServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

/** A service's environment as a map, from either compose form (mapping or KEY=VALUE list). */
function environmentOf(service: Record<string, any>): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e: string) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** ENV lines of one stage (`KEY=value` pairs). */
function stageEnv(stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of dockerfile.instructions.filter((i) => i.stage === stage && i.keyword === 'ENV')) {
    for (const pair of i.args.split(/\s+/)) env[pair.split('=')[0]] = pair.slice(pair.indexOf('=') + 1);
  }
  return env;
}

/** Every command line the images and compose run. */
const allCommands: { where: string; words: string[] }[] = [
  ...dockerfile.instructions
    .filter((i) => i.keyword === 'RUN' || i.keyword === 'CMD' || i.keyword === 'HEALTHCHECK')
    .flatMap((i) =>
      commandsOf(i.keyword === 'HEALTHCHECK' ? i.args.replace(/^.*?\bCMD\s+/, '') : i.args).map((words) => ({
        where: `${i.stage} ${i.keyword}`,
        words,
      })),
    ),
  ...Object.entries(services)
    .filter(([, s]) => Array.isArray(s.command))
    .map(([name, s]) => ({ where: `compose ${name}`, words: s.command as string[] })),
];

describe('docker/compose.yml', () => {
  it('has redis, api, worker and worker-gpu, with volumes that are declared', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'api', 'worker', 'worker-gpu']));
    for (const [name, service] of Object.entries(services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/'))
          expect({ service: name, declared: source in (compose.volumes ?? {}) }).toEqual({
            service: name,
            declared: true,
          });
      }
    }
    expect(services.redis.command).toEqual(
      expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']),
    );
    for (const name of ['api', 'worker', 'worker-gpu']) expect(services[name].volumes).toContain('data:/data');
  });

  it('puts worker-gpu in the gpu profile with an NVIDIA device reservation', () => {
    const gpu = services['worker-gpu'];
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.deploy.resources.reservations.devices).toEqual([
      expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] }),
    ]);
    expect(environmentOf(gpu).ORT_EXECUTION_PROVIDERS).toBe('cuda,cpu');
    expect(services.worker.profiles).toBeUndefined();
    expect(String(services.worker.deploy.replicas)).toBe('${WORKER_REPLICAS:-2}');
  });

  it('sets only variables darkroom reads, with values its config accepts', () => {
    expect(darkroomServices.map(([name]) => name).sort()).toEqual(['api', 'worker', 'worker-gpu']);
    for (const [name, service] of darkroomServices) {
      const env = environmentOf(service);
      expect({ service: name, unknown: Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k)) }).toEqual({
        service: name,
        unknown: [],
      });
      const stage = stageEnv(service.build.target);
      const effective = { ...stage, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, withDefaults(v)])) };
      const { NODE_ENV: _nodeEnv, ...darkroomEnv } = effective;
      expect(() => loadConfig(darkroomEnv, '/app')).not.toThrow();
    }
  });

  it('depends only on services that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps)
        expect({ service: name, dependsOn: dep, exists: dep in services }).toEqual({
          service: name,
          dependsOn: dep,
          exists: true,
        });
    }
    expect(services.api.depends_on.redis.condition).toBe('service_healthy');
  });

  it('builds targets that are stages of docker/Dockerfile', () => {
    for (const [name, service] of darkroomServices) {
      const dockerfilePath = path.resolve(DOCKER, service.build.context, service.build.dockerfile);
      expect({ service: name, dockerfile: dockerfilePath }).toEqual({
        service: name,
        dockerfile: path.join(DOCKER, 'Dockerfile'),
      });
      expect(dockerfile.stages).toContain(service.build.target);
    }
  });

  it('publishes the port the image exposes and health-checks the API', () => {
    const exposed = dockerfile.instructions
      .filter((i) => i.stage === 'cpu' && i.keyword === 'EXPOSE')
      .map((i) => i.args);
    expect(exposed).toEqual(['3000']);
    expect(services.api.ports.map((p: string) => p.split(':').pop())).toEqual(['3000']);
    expect(services.api.healthcheck.test.join(' ')).toContain('/healthz');
  });
});

describe('docker/Dockerfile', () => {
  it('has build, cpu and cuda stages; every --from and FROM names an earlier stage or an image', () => {
    expect(dockerfile.stages).toEqual(expect.arrayContaining(['build', 'cpu', 'cuda']));
    const seen: string[] = [];
    for (const i of dockerfile.instructions) {
      const from = i.keyword === 'FROM' ? i.args.split(/\s+/)[0] : /--from=(\S+)/.exec(i.args)?.[1];
      if (from && !from.includes(':') && !from.startsWith('${'))
        expect({ line: `${i.keyword} ${i.args}`, earlierStage: seen.includes(from) }).toEqual({
          line: `${i.keyword} ${i.args}`,
          earlierStage: true,
        });
      if (i.keyword === 'FROM') seen.push(dockerfile.stages[seen.length]);
    }
  });

  it('copies only paths that exist in the repository', () => {
    const copies = dockerfile.instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1);
      for (const source of sources)
        expect({ source, exists: fs.existsSync(path.join(REPO, source)) }).toEqual({ source, exists: true });
    }
  });

  it('runs npm scripts that exist and node files the build produces', () => {
    const npmBuiltins = ['ci', 'prune', 'rebuild'];
    let nodeFiles = 0;
    for (const { where, words } of allCommands) {
      if (words[0] === 'npm') {
        if (words[1] === 'run')
          expect({ where, script: words[2], exists: words[2] in packageJson.scripts }).toEqual({
            where,
            script: words[2],
            exists: true,
          });
        else
          expect({ where, command: words[1], builtin: npmBuiltins.includes(words[1]) }).toEqual({
            where,
            command: words[1],
            builtin: true,
          });
        if (words[1] === 'rebuild')
          for (const pkg of words.slice(2).filter((w) => !w.startsWith('-')))
            expect(packageJson.dependencies).toHaveProperty([pkg]);
      }
      if (words[0] === 'node' && !words[1].startsWith('-')) {
        const source = /^dist\/(.+)\.js$/.exec(words[1]);
        expect({
          where,
          file: words[1],
          builtFromSource: source !== null && fs.existsSync(path.join(REPO, `${source[1]}.ts`)),
        }).toEqual({ where, file: words[1], builtFromSource: true });
        nodeFiles += 1;
      }
    }
    // api-main and workers/main in images and compose, build-demo-models in the build stage.
    expect(nodeFiles).toBeGreaterThanOrEqual(4);
    const cmd = (stage: string) =>
      dockerfile.instructions.filter((i) => i.stage === stage && i.keyword === 'CMD').map((i) => JSON.parse(i.args));
    expect(cmd('cpu')).toEqual([['node', 'dist/src/api-main.js']]);
  });

  it('runs both images as non-root users with production settings', () => {
    const users = dockerfile.instructions.filter((i) => i.keyword === 'USER');
    for (const stage of ['cpu', 'cuda']) {
      const user = users.filter((u) => u.stage === stage).map((u) => u.args);
      expect({ stage, user }).toEqual({ stage, user: [expect.not.stringMatching(/^(root|0)$/)] });
    }
    expect(stageEnv('cpu')).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', DATA_DIR: '/data' });
    for (const stage of ['cpu', 'cuda']) {
      const { NODE_ENV: _nodeEnv, ...env } = stageEnv(stage);
      expect(Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k))).toEqual([]);
    }
    expect(
      dockerfile.instructions.some(
        (i) => i.stage === 'cpu' && i.keyword === 'HEALTHCHECK' && i.args.includes('/healthz'),
      ),
    ).toBe(true);
  });

  it('installs the CUDA provider onnxruntime-node offers for linux/x64 and checks its file', async () => {
    // The installed package's own metadata: which installs exist and which files each brings.
    const metadata = (await import(
      path.join(REPO, 'node_modules', 'onnxruntime-node', 'script', 'install-metadata.js')
    )) as {
      requirements: Record<string, string[]>;
      manifests: Record<string, Record<string, unknown>>;
    };
    const rebuild = allCommands.find((c) => c.words[0] === 'npm' && c.words[1] === 'rebuild');
    expect(rebuild?.where).toBe('cuda-deps RUN');
    const flag = /ONNXRUNTIME_NODE_INSTALL=(\S+)\s+npm rebuild onnxruntime-node/.exec(dockerfileText)?.[1];
    expect(metadata.requirements['linux/x64']).toContain(flag);
    const files = Object.keys(metadata.manifests[`linux/x64:${flag}`]).map((f) => path.basename(f));
    const checked = /test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/(\S+)/.exec(dockerfileText)?.[1];
    expect(files).toContain(checked);
    expect(stageEnv('cuda').ORT_EXECUTION_PROVIDERS).toBe('cuda,cpu');
    expect(dockerfile.instructions.find((i) => i.stage === 'cuda' && i.keyword === 'FROM')?.args).toMatch(/CUDA_IMAGE/);
    expect(dockerfileText).toMatch(/ARG CUDA_IMAGE=nvidia\/cuda:12\.[\d.]+-cudnn-runtime-ubuntu22\.04/);
  });
});
