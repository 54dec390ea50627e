import { Router } from 'express';
import type { LiveAppDeps } from '../app-deps';
import { comfyFileRoutes } from './comfy-file-routes';
import { comfyPromptRoutes } from './comfy-routes';
import { createComfyStore } from './comfy-store';
import { comfyWebSocket } from './comfy-ws';

/** The paths of ComfyUI's API darkroom answers (at the root, where ComfyUI's clients look). */
export const COMFY_PATHS = [
  '/prompt',
  '/history',
  '/view',
  '/queue',
  '/interrupt',
  '/upload',
  '/object_info',
  '/system_stats',
  '/embeddings',
  '/extensions',
];

/** ComfyUI's HTTP routes and its websocket, over darkroom jobs. */
export function comfyAdapter(deps: LiveAppDeps) {
  const store = createComfyStore(deps.redis, {
    prefix: deps.config.redis.prefix,
    retentionSeconds: deps.config.jobs.retentionSeconds,
  });
  const router = Router();
  router.use(comfyPromptRoutes(deps, store), comfyFileRoutes(deps, store));
  return { router, onUpgrade: comfyWebSocket(deps, store).onUpgrade };
}
