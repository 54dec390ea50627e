import express, { Router } from 'express';
// The path helper alone: the package's main module would load the whole browser bundle into Node.
import swaggerUiPath from 'swagger-ui-dist/absolute-path';
import {
  DOCS_ASSETS_PATH,
  DOCS_CSP,
  DOCS_INIT_FILE,
  DOCS_INIT_SCRIPT,
  DOCS_PAGE,
  DOCS_PATH,
  SWAGGER_UI_FILES,
} from './docs-page';
import { buildOpenApiDocument } from './openapi-document';

/** GET /openapi.json and the interactive docs at GET /docs (Swagger UI, served offline from node_modules). */
export function openApiRoutes(): Router {
  const router = Router();
  const document = buildOpenApiDocument();
  const swaggerUi = express.static(swaggerUiPath(), { index: false, redirect: false, maxAge: '1h' });

  router.get('/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(document);
  });

  router.get(DOCS_PATH, (_req, res) => {
    res
      .set({ 'Content-Security-Policy': DOCS_CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' })
      .type('html')
      .send(DOCS_PAGE);
  });

  router.use(DOCS_ASSETS_PATH, (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const file = req.path.slice(1);
    res.set('X-Content-Type-Options', 'nosniff');
    if (file === DOCS_INIT_FILE) res.set('Cache-Control', 'no-cache').type('js').send(DOCS_INIT_SCRIPT);
    else if (SWAGGER_UI_FILES.has(file)) swaggerUi(req, res, next);
    else next();
  });

  return router;
}
