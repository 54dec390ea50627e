import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: HMAC-SHA256 over `${timestamp}.${body}`, sent as
 * `Darkroom-Signature: t=<unix seconds>,v1=<hex>`. The timestamp is signed too, so a receiver that
 * rejects old timestamps also rejects replays. Each API key's deliveries are signed with that key's
 * own secret, derived from WEBHOOK_SECRET: with one shared secret, any tenant could forge a
 * delivery to another tenant's receiver.
 */

export const SIGNATURE_HEADER = 'Darkroom-Signature';
export const EVENT_HEADER = 'Darkroom-Event';
export const DELIVERY_HEADER = 'Darkroom-Delivery';
export const SIGNATURE_ALGORITHM = 'HMAC-SHA256';

/** Separates the derivation from any other use of WEBHOOK_SECRET as an HMAC key; changing it rotates every key's secret. */
const KEY_SECRET_LABEL = 'darkroom webhook signing secret v1\u0000';

/**
 * The secret `owner`'s deliveries are signed with: HMAC-SHA256(WEBHOOK_SECRET, label + owner),
 * base64url. API and workers derive the same one, so it is never stored; it changes with WEBHOOK_SECRET.
 */
export function ownerWebhookSecret(serverSecret: string, owner: string): string {
  return `whsec_${createHmac('sha256', serverSecret)
    .update(KEY_SECRET_LABEL + owner)
    .digest('base64url')}`;
}

/** The hex HMAC of one delivery. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `Darkroom-Signature` header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

/**
 * Whether a `Darkroom-Signature` header is valid for `body` and no older (or newer) than
 * `toleranceSeconds`. What a receiver runs; the README shows the same steps.
 */
export function verifySignatureHeader(
  secret: string,
  header: string | undefined,
  body: string,
  toleranceSeconds = 300,
  now = Date.now() / 1000,
): boolean {
  const parts = new Map<string, string[]>();
  for (const item of (header ?? '').split(',')) {
    const [key, ...value] = item.trim().split('=');
    parts.set(key, [...(parts.get(key) ?? []), value.join('=')]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, body), 'hex');
  return (parts.get('v1') ?? []).some((hex) => {
    const given = Buffer.from(hex, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
