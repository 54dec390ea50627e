import path from 'node:path';

/**
 * What the GPU kit holds and where, shared by the builder (here, on CPU) and the runner (there,
 * on the lent GPU machine). The kit is one folder; run.sh writes only inside it (and to $OUT).
 *
 *   darkroom-gpu-kit/
 *     run.sh            the one command
 *     kit.json          what was built, from what, on which machine
 *     bin/node          the Node binary that ran the build
 *     app/              package.json, dist/, production node_modules/, models/demo/
 *     models/<name>/    the real models the run tests, with manifests pointing at their own files
 *     photos/           the shared photos and expected.json
 *     redis/            redis-server (a wrapper), bin/, lib/ (the libraries it links that a bare machine may lack)
 *     gl-debs/          Debian's Vulkan/GL loader packages, unpacked by run.sh into work/gl when the machine has none
 *     work/             made by run.sh: temp files, Redis data, blobs, raw outputs
 */
export const KIT_NAME = 'darkroom-gpu-kit';
export const KIT_ARCHIVE = `${KIT_NAME}.tar.xz`;
/** The limit: what a device call can carry is 64 MiB, the working tree's other files included. */
export const KIT_MAX_BYTES = 60 * 1024 * 1024;

export const kitPaths = (kit: string) => ({
  kit,
  node: path.join(kit, 'bin', 'node'),
  app: path.join(kit, 'app'),
  dist: path.join(kit, 'app', 'dist'),
  demoModels: path.join(kit, 'app', 'models', 'demo'),
  models: path.join(kit, 'models'),
  photos: path.join(kit, 'photos'),
  redis: path.join(kit, 'redis'),
  glDebs: path.join(kit, 'gl-debs'),
  work: path.join(kit, 'work'),
  info: path.join(kit, 'kit.json'),
});

/** The real models from ../shared the run exercises, by the test fixture manifest that describes each. */
export const KIT_REAL_MODELS = [
  { name: 'mobilenetv2-12-int8', fixture: 'tests/fixtures/models/mobilenetv2-12-int8' },
  { name: 'omori-sprite-gan', fixture: 'tests/fixtures/models/omori-sprite-gan' },
  { name: 'superres-y-x3', fixture: 'tests/fixtures/models-image/superres-y-x3' },
] as const;

/** Debian packages of the Vulkan loader and GLVND (the NVIDIA Vulkan driver needs libGLdispatch), per the device README. */
export const GL_PACKAGES = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
/** Debian's redis-tools holds the redis-server binary (as redis-check-rdb; the name it is started by picks the mode). */
export const REDIS_PACKAGE = 'redis-tools';

/** Execution providers the run tries, in order; the CPU run is the reference the others are compared with. */
export const DEFAULT_PROVIDERS = ['cuda', 'webgpu', 'cpu'];

/** What the builder records in kit.json. */
export interface KitInfo {
  built_at: string;
  git_commit: string;
  git_dirty: boolean;
  node_version: string;
  node_binary: string;
  onnxruntime_node: string;
  sharp: string;
  redis: string;
  gl_packages: string[];
  models: string[];
  photos: number;
  /** Shared photos too large for the kit's size limit. */
  photos_left_out: string[];
  /** Highest glibc symbol version any shipped binary needs: the GPU machine's glibc must be at least this. */
  needs_glibc: string;
  cuda_provider: string;
}
