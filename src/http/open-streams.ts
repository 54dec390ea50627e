import type { Request, Response } from 'express';
import { AppError } from '../errors';

/**
 * Open event streams and waiting requests (`Prefer: wait`, the OpenAI route) per client: each
 * holds a connection and a subscription for up to minutes, so one key could otherwise hold them by
 * the thousand. Counted in this API process only: a slot lives exactly as long as a response that
 * this process holds, so a process-local count is never left behind by a crash, and behind a load
 * balancer a client may hold MAX_OPEN_STREAMS_PER_KEY per API instance.
 */
export interface OpenStreams {
  /** Takes a slot for this client until `res` closes; false when it holds the maximum already. */
  tryOpen(req: Request, res: Response): boolean;
  /** The same, or `429 too_many_streams` with Retry-After when no slot is free. */
  open(req: Request, res: Response): void;
}

const RETRY_AFTER_SECONDS = 5;

/** `clientKeyOf` names whom a slot counts against (rate-limit.ts: the API key, or the client's address). */
export function createOpenStreams(max: number, clientKeyOf: (req: Request) => string): OpenStreams {
  const open = new Map<string, number>();
  const tryOpen = (req: Request, res: Response) => {
    // A client already gone needs no slot, and its 'close' would never come to free one.
    if (res.closed) return false;
    const who = clientKeyOf(req);
    const held = open.get(who) ?? 0;
    if (held >= max) return false;
    open.set(who, held + 1);
    // 'close' comes once per response, whether it was answered or the client went away.
    res.once('close', () => {
      const left = (open.get(who) ?? 1) - 1;
      if (left > 0) open.set(who, left);
      else open.delete(who);
    });
    return true;
  };
  return {
    tryOpen,
    open(req, res) {
      if (tryOpen(req, res)) return;
      const message = `this client already holds ${max} open event streams and waiting requests; close one or try again later`;
      throw new AppError(429, 'too_many_streams', message, undefined, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    },
  };
}
