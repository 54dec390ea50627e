import express, { Router, type Response } from 'express';
import { ASSETS_PATH, renderIndexPage, webPublicDir } from '../../web/web-assets';

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
  const page = renderIndexPage(publicDir);

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

  router.use(
    ASSETS_PATH,
    express.static(publicDir, {
      index: false,
      redirect: false,
      // A `?v=<content hash>` URL never changes meaning; a bare URL may, so it is revalidated.
      setHeaders: (res: Response) => {
        res.set('X-Content-Type-Options', 'nosniff');
        res.set('Cache-Control', res.req.query.v ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );

  return router;
}
