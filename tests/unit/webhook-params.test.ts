import { loadConfig } from '../../src/config';
import { AppError } from '../../src/errors';
import { classificationFormSchema, generationRequestSchema, batchRequestSchema } from '../../src/http/request-schemas';
import { resolveWebhook } from '../../src/http/webhook-params';
import type { HostLookup } from '../../src/webhooks/webhook-address';

/** The request's `webhook` field: schema, defaults, and the refusals the API answers with 422. */

const config = { secret: 'whsec-test-0123456789abcdef', allowedHosts: ['127.0.0.1'] };
const dns: HostLookup = async (host) => {
  const answers: Record<string, string[]> = {
    'hooks.example.com': ['93.184.216.34'],
    'db.internal.example.com': ['172.20.0.4'],
  };
  if (!answers[host]) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return answers[host].map((address) => ({ address, family: 4 as const }));
};

async function refusal(promise: Promise<unknown>) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const { status, code, details } = err as AppError;
  return { status, code, details };
}

test('events default to the final three, keep a fixed order and no duplicates', async () => {
  expect(await resolveWebhook({ url: 'https://hooks.example.com/a' }, config, [], dns)).toEqual({
    url: 'https://hooks.example.com/a',
    events: ['succeeded', 'failed', 'canceled'],
  });
  expect(
    await resolveWebhook(
      { url: 'https://hooks.example.com/a', events: ['succeeded', 'running', 'succeeded', 'progress'] },
      config,
      [],
      dns,
    ),
  ).toEqual({
    url: 'https://hooks.example.com/a',
    events: ['running', 'progress', 'succeeded'],
  });
  expect(await resolveWebhook(undefined, config, [], dns)).toBeUndefined();
});

test('without WEBHOOK_SECRET a webhook is refused with 422 webhooks_not_configured', async () => {
  expect(
    await refusal(
      resolveWebhook(
        { url: 'https://hooks.example.com/a' },
        { secret: undefined, allowedHosts: [] },
        ['requests', 2],
        dns,
      ),
    ),
  ).toEqual({
    status: 422,
    code: 'webhooks_not_configured',
    details: [{ field: 'requests.2.webhook', message: expect.stringContaining('WEBHOOK_SECRET') }],
  });
});

test('non-public hosts are refused with 422 webhook_url_not_allowed, unless allow-listed', async () => {
  for (const url of [
    'http://10.0.0.1/hook',
    'http://[::1]:1/',
    'http://db.internal.example.com/',
    'http://169.254.169.254/latest/meta-data',
  ]) {
    expect(await refusal(resolveWebhook({ url }, config, [], dns))).toMatchObject({
      status: 422,
      code: 'webhook_url_not_allowed',
      details: [{ field: 'webhook.url' }],
    });
  }
  expect(await resolveWebhook({ url: 'http://127.0.0.1:9/hook' }, config, [], dns)).toMatchObject({
    url: 'http://127.0.0.1:9/hook',
  });
  expect(await refusal(resolveWebhook({ url: 'https://nowhere.example.com/' }, config, [], dns))).toMatchObject({
    status: 422,
    code: 'webhook_host_not_found',
  });
});

test('the schemas: JSON object, multipart JSON string, batch items', () => {
  expect(
    generationRequestSchema.safeParse({ webhook: { url: 'https://hooks.example.com/a', events: ['progress'] } })
      .success,
  ).toBe(true);
  for (const webhook of [
    { url: 'ftp://hooks.example.com/a' },
    { url: 'https://hooks.example.com/a', events: [] },
    { url: 'https://hooks.example.com/a', events: ['done'] },
    { url: 'https://x.example/', secret: 's' },
    'https://x.example/',
  ]) {
    expect({ webhook, ok: generationRequestSchema.safeParse({ webhook }).success }).toEqual({ webhook, ok: false });
  }
  const form = classificationFormSchema.safeParse({
    top_k: '3',
    webhook: JSON.stringify({ url: 'https://hooks.example.com/a', events: ['failed'] }),
  });
  expect(form.success && form.data.webhook).toEqual({ url: 'https://hooks.example.com/a', events: ['failed'] });
  const badForm = classificationFormSchema.safeParse({ webhook: '{not json' });
  expect(badForm.success ? [] : badForm.error.issues.map((i) => i.path.join('.'))).toEqual(['webhook']);
  const batch = batchRequestSchema.safeParse({
    requests: [
      { type: 'generation', webhook: { url: 'https://hooks.example.com/a' } },
      { type: 'classification', images: ['x'], webhook: { url: 'nope' } },
    ],
  });
  expect(batch.success ? [] : batch.error.issues.map((i) => i.path.join('.'))).toEqual(['requests.1.webhook.url']);
});

test('config: the allow-list splits on commas only (IPv6 has colons), the secret has a minimum length', () => {
  const c = loadConfig({
    WEBHOOK_SECRET: config.secret,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1, ::1 ,hooks.internal',
  });
  expect(c.webhooks).toMatchObject({
    allowedHosts: ['127.0.0.1', '::1', 'hooks.internal'],
    attempts: 8,
    backoffMs: 2000,
    timeoutMs: 10_000,
  });
  expect(loadConfig({}).webhooks.secret).toBeUndefined();
  expect(loadConfig({}).webhooks.allowedHosts).toEqual([]);
  expect(loadConfig({}).worker.queues).toContain('webhooks');
  expect(() => loadConfig({ WEBHOOK_SECRET: 'short' })).toThrow('WEBHOOK_SECRET: at least 16 characters');
});
