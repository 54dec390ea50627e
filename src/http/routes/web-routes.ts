import { Router } from 'express';
import path from 'node:path';
import { ASSETS_PATH, loadWebAssets, renderIndexPage, webPublicDir } from '../../web/web-assets';

/** The page may load only its own files and talk only to this server. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** GET / (the web page) and its static files under /assets. */
export function webRoutes(publicDir = webPublicDir()): Router {
  const router = Router();
  const assets = loadWebAssets(publicDir);
  const page = renderIndexPage(publicDir, assets);

  // The page is small and names versioned assets: always revalidate it (ETag -> 304).
  router.get(['/', '/index.html', `${ASSETS_PATH}/index.html`], (_req, res) => {
    res
      .set({
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': PAGE_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      })
      .type('html')
      .send(page);
  });

  // Served from memory: modules are served with versioned imports (see loadWebAssets). Express
  // adds the ETag and answers 304 to a matching If-None-Match.
  router.get(`${ASSETS_PATH}/:file`, (req, res, next) => {
    const asset = assets.get(req.params.file);
    if (!asset) return next();
    res
      .set({
        'X-Content-Type-Options': 'nosniff',
        // A `?v=<content hash>` URL never changes meaning; a bare URL may, so it is revalidated.
        'Cache-Control': req.query.v === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache',
      })
      .type(path.extname(req.params.file))
      .send(asset.body);
  });

  return router;
}
