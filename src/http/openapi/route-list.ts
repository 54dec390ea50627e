import type { Express } from 'express';

/** The parts of Express 5's router layers that say which routes it serves. */
interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  /** The path a layer was mounted on (`router` 2.3+); `/` for `app.use(router)`. */
  rawPath?: unknown;
}

export interface ListedRoute {
  method: string;
  /** The Express path, e.g. `/v1/jobs/:id`. */
  path: string;
}

const join = (prefix: string, path: string) => (prefix + path).replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');

function collect(stack: RouterLayer[], prefix: string, out: ListedRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      const methods = Object.keys(layer.route.methods).filter((m) => m !== '_all');
      for (const path of paths) for (const method of methods) out.push({ method, path: join(prefix, path) });
    } else if (layer.handle?.stack) {
      // A nested router: only plain string mount paths can be named (a regexp mount cannot).
      if (typeof layer.rawPath === 'string') collect(layer.handle.stack, join(prefix, layer.rawPath), out);
    }
  }
}

/** Every method and path the app's routers serve, nested routers included (static file mounts are not routes). */
export function listRoutes(app: Express): ListedRoute[] {
  const router = (app as unknown as { router: { stack: RouterLayer[] } }).router;
  const out: ListedRoute[] = [];
  collect(router.stack, '', out);
  return out;
}

/** `/v1/jobs/:id` as OpenAPI writes it: `/v1/jobs/{id}`. */
export const toOpenApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');
