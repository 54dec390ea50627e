import { Router } from 'express';
import { AppError } from '../../errors';
import { ownerWebhookSecret, SIGNATURE_ALGORITHM } from '../../webhooks/webhook-signature';
import type { AppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';

/** GET /v1/webhook-secret: what the calling key's webhook deliveries are signed with, for its receivers to verify. */
export function webhookRoutes({ config }: AppDeps): Router {
  const router = Router();

  router.get('/v1/webhook-secret', (req, res) => {
    if (!config.webhooks.secret)
      throw new AppError(
        422,
        'webhooks_not_configured',
        'this server sends no webhooks: WEBHOOK_SECRET is not configured',
      );
    // Each key reads only its own secret (derived, never stored); no cache or proxy may keep it.
    res
      .set('Cache-Control', 'no-store')
      .json({ secret: ownerWebhookSecret(config.webhooks.secret, principalOf(req)), algorithm: SIGNATURE_ALGORITHM });
  });

  return router;
}
