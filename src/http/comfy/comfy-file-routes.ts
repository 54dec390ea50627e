import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError, notFound } from '../../errors';
import { inspectImage } from '../../imaging/image-codec';
import { generationResultSchema, uuidv7 } from '../../jobs/job-contract';
import type { LiveAppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { findJob, viewOf } from '../job-lookup';
import { readMultipart } from '../multipart';
import { OUTPUT_FILE } from './comfy-history';
import { objectInfo } from './comfy-object-info';
import type { ComfyStore } from './comfy-store';

const MIME: Record<string, string> = { png: 'image/png', webp: 'image/webp', jpg: 'image/jpeg' };
/** Upload names as ComfyUI keeps them: a plain file name. */
const UPLOAD_NAME = /^[\w .()+-]{1,128}$/;

/** GET /view, POST /upload/image, GET /object_info, GET /system_stats (and the lists clients read first). */
export function comfyFileRoutes(deps: LiveAppDeps, comfy: ComfyStore): Router {
  const router = Router();
  router.get('/view', viewFile(deps, comfy));
  router.post('/upload/image', uploadImage(deps, comfy));
  router.get('/object_info', (_req, res) => void res.json(objectInfo(deps.catalog)));
  router.get('/object_info/:node', (req, res) => {
    const info = objectInfo(deps.catalog)[req.params.node];
    res.json(info ? { [req.params.node]: info } : {});
  });
  router.get('/embeddings', (_req, res) => void res.json([]));
  router.get('/extensions', (_req, res) => void res.json([]));
  router.get('/system_stats', systemStats);
  return router;
}

/** GET /view: an uploaded input, or an output image of a finished prompt. */
function viewFile(deps: LiveAppDeps, comfy: ComfyStore): RequestHandler {
  const { store } = deps;
  return async (req, res) => {
    const filename = String(req.query.filename ?? '');
    const type = String(req.query.type ?? 'output');
    const owner = principalOf(req);
    if (type === 'input') {
      const key = await comfy.findUpload(owner, filename);
      if (!key) throw notFound(`input ${filename}`);
      res.set('Content-Type', 'application/octet-stream');
      return void pipeline(await store.open(key), res).catch(() => undefined);
    }
    const m = OUTPUT_FILE.exec(filename);
    if (!m || (type !== 'output' && type !== 'temp')) throw notFound(`file ${filename}`);
    const job = await findJob(deps, owner, m[1]);
    if ((await viewOf(deps, job)).status !== 'succeeded') throw notFound(`file ${filename}`);
    const image = generationResultSchema.safeParse(job.returnvalue).data?.images.find((i) => String(i.index) === m[2]);
    if (!image) throw notFound(`file ${filename}`);
    res.set({
      'Content-Type': MIME[m[3]],
      'Content-Length': String(image.bytes),
      'Cache-Control': 'private, max-age=86400',
    });
    pipeline(await store.open(image.key), res).catch(() => undefined);
  };
}

/** POST /upload/image: keeps the image under a free name (or the same one, with overwrite). */
function uploadImage(deps: LiveAppDeps, comfy: ComfyStore): RequestHandler {
  const { store, config } = deps;
  return async (req, res) => {
    if (!req.is('multipart/form-data'))
      throw new AppError(
        415,
        'unsupported_media_type',
        'POST /upload/image reads multipart/form-data with an "image" part',
      );
    const { fields, files } = await readMultipart(req, { maxBytes: config.limits.maxUploadBytes, files: 1 });
    const file = files[0];
    if (!file) throw new AppError(400, 'validation_error', 'send the image as a multipart "image" part');
    const name = (file.filename ?? 'image.png').split(/[\\/]/).pop()!;
    if (!UPLOAD_NAME.test(name))
      throw new AppError(400, 'validation_error', `unusable file name ${JSON.stringify(name)}`);
    await inspectImage(file.data, config.limits.maxImagePixels);
    const owner = principalOf(req);
    let chosen = name;
    if (fields.overwrite !== 'true' && fields.overwrite !== '1') {
      const [base, ext] = /^(.*?)(\.[^.]*)?$/.exec(name)!.slice(1);
      for (let i = 1; (await comfy.findUpload(owner, chosen)) && i < 1000; i++) chosen = `${base} (${i})${ext ?? ''}`;
    }
    const folder = `upl_${uuidv7()}`;
    const key = `jobs/${folder}/inputs/0`;
    await store.put(key, file.data);
    await comfy.saveUpload(owner, chosen, folder, key);
    res.json({ name: chosen, subfolder: '', type: 'input' });
  };
}

/** GET /system_stats: this host, in ComfyUI's shape. */
function systemStats(_req: Request, res: Response): void {
  res.json({
    system: {
      os: process.platform,
      ram_total: os.totalmem(),
      ram_free: os.freemem(),
      comfyui_version: 'darkroom',
      python_version: `node ${process.version}`,
      pytorch_version: 'onnxruntime',
      embedded_python: false,
      argv: [],
    },
    devices: [],
  });
}
