import type { WebhookSettings } from '../config';
import { AppError } from '../errors';
import { DEFAULT_WEBHOOK_EVENTS, WEBHOOK_EVENTS, type JobWebhook } from '../jobs/job-contract';
import {
  checkWebhookUrl,
  WebhookHostUnresolved,
  WebhookUrlRefused,
  type HostLookup,
} from '../webhooks/webhook-address';
import type { WebhookRequest } from './request-schemas';

type Field = (string | number)[];

/**
 * Checks a request's webhook and gives what the job payload stores: refused with 422 when this
 * server has no WEBHOOK_SECRET to sign with, or when the URL's host is not a public address
 * (unless allow-listed). Events default to the final three and keep a fixed order.
 */
export async function resolveWebhook(
  req: WebhookRequest | undefined,
  webhooks: Pick<WebhookSettings, 'secret' | 'allowedHosts'>,
  path: Field = [],
  lookup?: HostLookup,
): Promise<JobWebhook | undefined> {
  if (!req) return undefined;
  const field = [...path, 'webhook'].join('.');
  if (!webhooks.secret) {
    const message = 'this server sends no webhooks: WEBHOOK_SECRET is not configured';
    throw new AppError(422, 'webhooks_not_configured', message, [{ field, message }]);
  }
  try {
    await checkWebhookUrl(req.url, webhooks.allowedHosts, lookup);
  } catch (err) {
    if (err instanceof WebhookUrlRefused)
      throw new AppError(422, 'webhook_url_not_allowed', `webhook URL not allowed: ${err.message}`, [
        { field: `${field}.url`, message: err.message },
      ]);
    if (err instanceof WebhookHostUnresolved)
      throw new AppError(422, 'webhook_host_not_found', err.message, [{ field: `${field}.url`, message: err.message }]);
    throw err;
  }
  const wanted = new Set(req.events ?? DEFAULT_WEBHOOK_EVENTS);
  return { url: req.url, events: WEBHOOK_EVENTS.filter((e) => wanted.has(e)) };
}
