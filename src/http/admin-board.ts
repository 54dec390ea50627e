import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler, Router } from 'express';
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

/** Bull Board over every job queue (and the webhook deliveries), read-only unless `writable`. */
export function adminBoard(queues: JobQueues, writable: boolean, extra: Queue[] = []): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: [...Object.values(queues.queues), ...extra].map((q) => new BullMQAdapter(q, { readOnlyMode: !writable })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'darkroom' } },
  });
  return serverAdapter.getRouter() as Router;
}
