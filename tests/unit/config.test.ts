import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

test('defaults give a working local setup, their paths in the package whatever the working directory', () => {
  const c = loadConfig({}, '/srv/elsewhere');
  const pkg = path.resolve(__dirname, '..', '..');
  expect(c).toMatchObject({
    http: { port: 3000, host: '127.0.0.1' },
    redis: { url: 'redis://127.0.0.1:6379' },
    storage: { dataDir: path.join(pkg, 'data') },
    worker: { ortProviders: ['cpu'] },
  });
  expect(loadConfig({ DATA_DIR: 'data' }, '/srv/elsewhere').storage.dataDir).toBe('/srv/elsewhere/data');
});

test('pulled models: MODELS_DIR defaults to DATA_DIR/models, which the default MODELS_PATH includes after the demo models', () => {
  const pkg = path.resolve(__dirname, '..', '..');
  expect(loadConfig({}, '/srv/elsewhere').models).toMatchObject({
    dir: path.join(pkg, 'data', 'models'),
    path: [path.join(pkg, 'models', 'demo'), path.join(pkg, 'data', 'models')],
    hfEndpoint: 'https://huggingface.co',
  });
  expect(loadConfig({ DATA_DIR: '/d' }, '/x').models).toMatchObject({
    dir: '/d/models',
    path: [path.join(pkg, 'models', 'demo'), '/d/models'],
  });
  expect(loadConfig({ MODELS_DIR: 'm', MODELS_PATH: 'a' }, '/x').models).toMatchObject({
    dir: '/x/m',
    path: ['/x/a'],
  });
});

test('HF_TOKEN is a secret: a config error names the variable, never its value', () => {
  expect(() => loadConfig({ HF_TOKEN: 'hf_secret-token-value', HF_ENDPOINT: 'ftp://hub', PORT: 'x' })).toThrow(
    ConfigError,
  );
  try {
    loadConfig({ HF_TOKEN: 'hf_secret-token-value', HF_ENDPOINT: 'ftp://hub', PORT: 'x' });
  } catch (err) {
    expect((err as ConfigError).message).toContain('HF_ENDPOINT');
    expect((err as ConfigError).message).not.toContain('secret-token-value');
  }
  expect(loadConfig({ HF_TOKEN: 'hf_abc' }).models.hfToken).toBe('hf_abc');
});

test('lists are split on commas or colons and resolved', () => {
  const c = loadConfig(
    { MODELS_PATH: 'a, /b:c', ORT_EXECUTION_PROVIDERS: 'cuda,cpu', WORKER_QUEUES: 'generation' },
    '/x',
  );
  expect(c.models.path).toEqual(['/x/a', '/b', '/x/c']);
  expect(c.worker.ortProviders).toEqual(['cuda', 'cpu']);
  expect(c.worker.queues).toEqual(['generation']);
});

test('every bad variable is reported at once', () => {
  let error: ConfigError | undefined;
  try {
    loadConfig({
      PORT: 'eighty',
      REDIS_URL: 'http://nope',
      ADMIN_PASSWORD: 'short',
      ORT_EXECUTION_PROVIDERS: 'gpu',
      WORKER_CONCURRENCY: '0',
    });
  } catch (err) {
    error = err as ConfigError;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const vars = error!.problems.map((p) => p.split(':')[0].split('.')[0]);
  expect(vars.sort()).toEqual(['ADMIN_PASSWORD', 'ORT_EXECUTION_PROVIDERS', 'PORT', 'REDIS_URL', 'WORKER_CONCURRENCY']);
  expect(error!.message).toContain('"eighty"');
});

test('a config error names a bad secret but never shows it, and masks passwords in URLs', () => {
  let error: ConfigError | undefined;
  try {
    loadConfig({
      ADMIN_PASSWORD: 'hunter2',
      WEBHOOK_SECRET: 'too-short-value',
      REDIS_URL: 'http://user:pa55word@redis.internal:6379',
    });
  } catch (err) {
    error = err as ConfigError;
  }
  expect(error?.problems.map((p) => p.split(':')[0]).sort()).toEqual(['ADMIN_PASSWORD', 'REDIS_URL', 'WEBHOOK_SECRET']);
  expect(error!.message).not.toMatch(/hunter2|too-short-value|pa55word/);
  expect(error!.message).toContain('http://user:***@redis.internal:6379');
});

test('empty variables count as unset', () => {
  expect(loadConfig({ REDIS_URL: '', PORT: '' }).http.port).toBe(3000);
});

test('the S3 blob store: fs is the default, s3 needs a bucket, and its problems are listed with the others', () => {
  expect(loadConfig({}).storage).toMatchObject({
    blobStore: 'fs',
    s3: { region: 'us-east-1', presignedUrls: false, presignSeconds: 900 },
  });
  expect(
    loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'true', S3_PRESIGNED_URLS: 'yes' }).storage,
  ).toMatchObject({ blobStore: 's3', s3: { bucket: 'b', forcePathStyle: true, presignedUrls: true } });
  let error: ConfigError | undefined;
  try {
    loadConfig({ BLOB_STORE: 's3', PORT: 'eighty', S3_ACCESS_KEY_ID: 'only-half', S3_ENDPOINT: 'ftp://x' });
  } catch (err) {
    error = err as ConfigError;
  }
  expect(error?.problems.map((p) => p.split(':')[0]).sort()).toEqual([
    'PORT',
    'S3_BUCKET',
    'S3_ENDPOINT',
    'S3_SECRET_ACCESS_KEY',
  ]);
  expect(() => loadConfig({ S3_PRESIGNED_URLS: 'true' })).toThrow('S3_PRESIGNED_URLS: needs BLOB_STORE=s3');
});

test('a Redis Cluster hash-tag prefix is accepted; other punctuation is not', () => {
  expect(loadConfig({ QUEUE_PREFIX: '{darkroom}' }).redis.prefix).toBe('{darkroom}');
  expect(() => loadConfig({ QUEUE_PREFIX: 'dark:room' })).toThrow('QUEUE_PREFIX');
});

test('ORT_EXECUTION_PROVIDERS takes webgpu (onnxruntime-node bundles its WebGPU provider on Linux)', () => {
  expect(loadConfig({ ORT_EXECUTION_PROVIDERS: 'webgpu,cpu' }).worker.ortProviders).toEqual(['webgpu', 'cpu']);
});

describe('where Redis is', () => {
  test('REDIS_URL or its default: one server', () => {
    expect(loadConfig({}).redis.target).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
    expect(loadConfig({ REDIS_URL: 'redis://r:6380' }).redis.target).toEqual({
      kind: 'standalone',
      url: 'redis://r:6380',
    });
  });

  test('Sentinel: the sentinels, the primary name and both passwords', () => {
    const c = loadConfig({
      REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381',
      REDIS_SENTINEL_MASTER: 'darkroom',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      REDIS_PASSWORD: 'data-secret',
    });
    expect(c.redis.target).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'darkroom',
      sentinelPassword: 'sentinel-secret',
      password: 'data-secret',
    });
    expect(c.redis.prefix).toBe('darkroom');
  });

  test('Cluster: the nodes, and a hash-tagged prefix so every queue (and batch flows across them) shares a slot', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' });
    expect(c.redis.target).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
      password: undefined,
    });
    expect(c.redis.prefix).toBe('{darkroom}');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'n:1', QUEUE_PREFIX: '{dr2}' }).redis.prefix).toBe('{dr2}');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'n:1', QUEUE_PREFIX: 'dr2' })).toThrow(/QUEUE_PREFIX: .*hash tag/);
  });

  test('settings that do not fit together are refused, every one named, passwords never shown', () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ REDIS_URL: 'redis://r:1', REDIS_SENTINELS: 's:1', REDIS_SENTINEL_MASTER: 'm' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: set only one of REDIS_URL, REDIS_SENTINELS/),
    ]);
    expect(problems({ REDIS_SENTINELS: 's:1' })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_MASTER: required/)]);
    expect(problems({ REDIS_SENTINELS: 's1,s2:x', REDIS_SENTINEL_MASTER: 'm' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: "s1" is not host:port/),
    ]);
    expect(problems({ REDIS_CLUSTER_NODES: 'n:1', REDIS_WAIT_REPLICAS: '1' })).toEqual([
      expect.stringMatching(/^REDIS_WAIT_REPLICAS: not supported on a Redis Cluster/),
    ]);
    const withPassword = problems({
      REDIS_SENTINEL_PASSWORD: 'hunter2-secret',
      REDIS_PASSWORD: 'data-secret',
      REDIS_URL: 'redis://:url-secret@r:1',
    });
    expect(withPassword).toEqual([
      'REDIS_SENTINEL_PASSWORD: needs REDIS_SENTINELS',
      'REDIS_PASSWORD: put the password in REDIS_URL instead',
    ]);
    expect(withPassword.join('\n')).not.toMatch(/secret/);
  });
});
