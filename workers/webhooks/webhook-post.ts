import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from '../../src/webhooks/webhook-address';

export interface WebhookPost {
  url: URL;
  /** The addresses the URL's host was checked against: the connection goes to one of these only. */
  addresses: ResolvedAddress[];
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/**
 * POSTs one delivery and resolves with the receiver's status code (redirects are not followed).
 * The connection uses the already checked addresses instead of resolving the name again, so a
 * DNS answer that changes between check and connect cannot point it somewhere private.
 */
export function postWebhook({ url, addresses, body, headers, timeoutMs }: WebhookPost): Promise<number> {
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, addresses[0].family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      lookup,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    req.on('error', (err) => settle(() => reject(err)));
    req.on('response', (res) => {
      res.on('error', (err) => settle(() => reject(err)));
      res.on('end', () => settle(() => resolve(res.statusCode ?? 0)));
      res.on('close', () => settle(() => reject(new Error('the connection closed before the answer ended'))));
      res.resume(); // the answer's body is not used
    });
    req.end(body);
  });
}
