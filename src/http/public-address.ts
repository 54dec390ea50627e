import type { Request } from 'express';
import type { HttpSettings } from '../config';

/**
 * How clients address this server. Forwarded headers (X-Forwarded-For/-Proto/-Host) are anyone's
 * to send, so they count only from the proxies TRUST_PROXY names; and absolute URLs in responses
 * use PUBLIC_URL when it is set, so no header decides where a client is sent next.
 */

/** TRUST_PROXY as Express's `trust proxy` setting: `false`, `true`, a hop count, or addresses, CIDRs and names such as `loopback`. */
export function trustProxySetting(value: string): boolean | number | string[] {
  const v = value.trim().toLowerCase();
  if (v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The base of the absolute URLs a response carries: PUBLIC_URL, else the request's own protocol and host. */
export function publicBaseUrl(req: Request, http: Pick<HttpSettings, 'publicUrl'>): string {
  // req.protocol and req.host read X-Forwarded-Proto/-Host only from a trusted proxy.
  return http.publicUrl ? http.publicUrl.replace(/\/+$/, '') : `${req.protocol}://${req.host}`;
}
