import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import type { JobQueues } from '../jobs/job-queues';
import { errorBody } from '../errors';

export const ADMIN_PATH = '/admin/queues';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** HTTP Basic auth, compared in constant time. */
export function basicAuth(user: string, password: string): RequestHandler {
  const expected = digest(`${user}:${password}`);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    const given = m ? digest(Buffer.from(m[1], 'base64').toString('utf8')) : undefined;
    if (given && timingSafeEqual(given, expected)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="darkroom admin", charset="UTF-8"')
      .json(errorBody('unauthorized', 'admin credentials required'));
  };
}

/**
 * Bull Board over every job queue (and the webhook deliveries), read-only unless `writable`. Model
 * queues come and go with the fleet's catalog: the board's list is brought up to date on each visit.
 */
export function adminBoard(queues: JobQueues, writable: boolean, extra: Queue[] = []): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
  const current = () => [...queues.known(), ...extra];
  const adapters = (list: Queue[]) => list.map((q) => new BullMQAdapter(q, { readOnlyMode: !writable }));
  let shown = current().map((q) => q.name);
  const board = createBullBoard({
    queues: adapters(current()),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'darkroom' } },
  });
  const router = Router();
  router.use((_req, _res, next) => {
    const list = current();
    const names = list.map((q) => q.name);
    if (names.join() !== shown.join()) {
      board.replaceQueues(adapters(list));
      shown = names;
    }
    next();
  });
  router.use(serverAdapter.getRouter() as Router);
  return router;
}
