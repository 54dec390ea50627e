import { createHmac } from 'node:crypto';
import {
  ownerWebhookSecret,
  signatureHeader,
  verifySignatureHeader,
  webhookSignature,
} from '../../src/webhooks/webhook-signature';

const SECRET = 'whsec-test-0123456789abcdef';
const BODY = JSON.stringify({ id: 'gen_x', status: 'succeeded' });

test('the signature is HMAC-SHA256 over "<timestamp>.<body>", hex, in t=...,v1=...', () => {
  const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
  expect(webhookSignature(SECRET, 1700000000, BODY)).toBe(expected);
  expect(signatureHeader(SECRET, BODY, 1700000000)).toBe(`t=1700000000,v1=${expected}`);
});

test('verification accepts the right secret, body and a recent timestamp only', () => {
  const now = 1700000100;
  const header = signatureHeader(SECRET, BODY, 1700000000);
  expect(verifySignatureHeader(SECRET, header, BODY, 300, now)).toBe(true);
  expect(verifySignatureHeader('another-secret-0123456789', header, BODY, 300, now)).toBe(false);
  expect(verifySignatureHeader(SECRET, header, BODY.replace('succeeded', 'failed'), 300, now)).toBe(false);
  // A replay long after it was signed, or a timestamp changed without re-signing.
  expect(verifySignatureHeader(SECRET, header, BODY, 300, 1700000000 + 301)).toBe(false);
  expect(verifySignatureHeader(SECRET, header.replace('t=1700000000', 't=1700000050'), BODY, 300, now)).toBe(false);
  for (const bad of [undefined, '', 'v1=abc', 't=1700000000', 't=x,v1=00', `t=1700000000,v1=${'0'.repeat(64)}`]) {
    expect(verifySignatureHeader(SECRET, bad, BODY, 300, now)).toBe(false);
  }
  // Several v1 values (e.g. while a secret is rotated): one matching is enough.
  const two = `t=1700000000,v1=${'0'.repeat(64)},v1=${webhookSignature(SECRET, 1700000000, BODY)}`;
  expect(verifySignatureHeader(SECRET, two, BODY, 300, now)).toBe(true);
});

test("each key's secret is derived from the server secret and the key's name, and reveals neither", () => {
  const alice = ownerWebhookSecret(SECRET, 'alice');
  const label = 'darkroom webhook signing secret v1\u0000';
  expect(alice).toBe(`whsec_${createHmac('sha256', SECRET).update(`${label}alice`).digest('base64url')}`);
  expect(ownerWebhookSecret(SECRET, 'alice')).toBe(alice); // API and workers derive the same one
  expect(
    new Set([
      alice,
      ownerWebhookSecret(SECRET, 'bob'),
      ownerWebhookSecret(SECRET, 'alicf'),
      ownerWebhookSecret('another-server-secret-0123', 'alice'),
    ]).size,
  ).toBe(4);
  expect(alice).not.toContain(SECRET);
});
