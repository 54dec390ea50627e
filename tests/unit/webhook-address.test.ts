import {
  blockedAddressReason,
  canonicalHost,
  checkWebhookUrl,
  ipv6Groups,
  WebhookHostUnresolved,
  WebhookUrlRefused,
  type HostLookup,
} from '../../src/webhooks/webhook-address';

/** Which addresses and URLs a webhook may reach (SSRF rules). */

test.each([
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.20', 'private'],
  ['100.64.0.1', 'private (shared address space)'],
  ['169.254.169.254', 'link-local'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'reserved (includes broadcast)'],
])('IPv4 %s is refused (%s)', (ip, reason) => {
  expect(blockedAddressReason(ip)).toBe(reason);
});

test.each([
  '8.8.8.8',
  '1.1.1.1',
  '172.15.255.255',
  '172.32.0.0',
  '192.169.0.1',
  '100.128.0.1',
  '11.0.0.1',
  '223.255.255.255',
])('public IPv4 %s is allowed', (ip) => {
  expect(blockedAddressReason(ip)).toBeUndefined();
});

test.each([
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::', 'unspecified'],
  ['fc00::1', 'private (unique local)'],
  ['fd12:3456:789a::1', 'private (unique local)'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
  ['::ffff:7f00:1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
  ['::ffff:10.0.0.1', 'private (IPv4 10.0.0.1 inside IPv6)'],
  ['::ffff:169.254.169.254', 'link-local (IPv4 169.254.169.254 inside IPv6)'],
  ['::ffff:0.0.0.0', 'unspecified (IPv4 0.0.0.0 inside IPv6)'],
  ['64:ff9b::192.168.0.1', 'private (IPv4 192.168.0.1 inside IPv6)'],
  ['64:ff9b::7f00:1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
  // IPv6 forms that carry an IPv4 address: judged by it, or refused outright (tunnels, local-use, deprecated).
  ['::ffff:0:127.0.0.1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
  ['::ffff:0:a9fe:a9fe', 'link-local (IPv4 169.254.169.254 inside IPv6)'],
  ['64:ff9b:1::7f00:1', 'NAT64 local-use prefix (64:ff9b:1::/48)'],
  ['64:ff9b:1:ffff::808:808', 'NAT64 local-use prefix (64:ff9b:1::/48)'],
  ['::127.0.0.1', 'IPv4-compatible (deprecated; IPv4 127.0.0.1 inside IPv6)'],
  ['::8.8.8.8', 'IPv4-compatible (deprecated; IPv4 8.8.8.8 inside IPv6)'],
  ['2002:7f00:1::', '6to4 (IPv4 127.0.0.1 inside IPv6)'],
  ['2002:808:808::1', '6to4 (IPv4 8.8.8.8 inside IPv6)'],
  ['2001:0::80f1:ffff:80ff:fffe', 'Teredo (IPv4 127.0.0.1 inside IPv6)'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo (IPv4 192.0.2.45 inside IPv6)'],
])('IPv6 %s is refused (%s)', (ip, reason) => {
  expect(blockedAddressReason(ip)).toBe(reason);
});

test.each([
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '::ffff:0:8.8.8.8',
  '64:ff9b::8.8.8.8',
  '2001:1::1',
  '2a00:1450::1',
])('public IPv6 %s is allowed', (ip) => {
  expect(blockedAddressReason(ip)).toBeUndefined();
});

test('IPv6 parsing and canonical host names', () => {
  expect(ipv6Groups('::ffff:10.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]);
  expect(ipv6Groups('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  expect(canonicalHost('[0:0:0:0:0:0:0:1]')).toBe(canonicalHost('::1'));
  expect(canonicalHost('Example.COM.')).toBe('example.com');
  expect(blockedAddressReason('example.com')).toBe('not an IP address');
});

/** A fake DNS: names map to fixed answers, so no test depends on the machine's resolver. */
const fakeDns =
  (answers: Record<string, string[]>): HostLookup =>
  async (host) => {
    const found = answers[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
const dnsAnswers = fakeDns({
  'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'],
  'intranet.example.com': ['10.1.2.3'],
  'mixed.example.com': ['93.184.216.34', '192.168.0.5'],
  'mapped.example.com': ['::ffff:127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
});

const refusal = (url: string, allow: string[] = []) =>
  checkWebhookUrl(url, allow, dnsAnswers).then(
    () => 'allowed',
    (err: Error) => `${err.name}: ${err.message}`,
  );

test('URLs: http(s) only; hosts resolving to any non-public address are refused', async () => {
  await expect(checkWebhookUrl('https://hooks.example.com/x', [], dnsAnswers)).resolves.toMatchObject({
    addresses: [{ address: '93.184.216.34' }, { address: '2606:2800:220:1::1' }],
  });
  expect(await refusal('ftp://hooks.example.com/x')).toBe(
    'WebhookUrlRefused: only http and https URLs are allowed (got ftp:)',
  );
  expect(await refusal('not a url')).toBe('WebhookUrlRefused: not a valid URL');
  expect(await refusal('http://intranet.example.com/')).toBe(
    'WebhookUrlRefused: intranet.example.com resolves to 10.1.2.3, not a public address (private)',
  );
  expect(await refusal('http://mixed.example.com/')).toContain('resolves to 192.168.0.5');
  expect(await refusal('http://mapped.example.com/')).toContain('loopback (IPv4 127.0.0.1 inside IPv6)');
  expect(await refusal('http://10.0.0.1/hook')).toBe('WebhookUrlRefused: 10.0.0.1 is not a public address (private)');
  expect(await refusal('http://[::1]:1/')).toBe('WebhookUrlRefused: ::1 is not a public address (loopback)');
  expect(await refusal('http://[::ffff:169.254.169.254]/')).toContain('link-local');
  expect(await refusal('http://[64:ff9b:1::7f00:1]/')).toBe(
    'WebhookUrlRefused: 64:ff9b:1::7f00:1 is not a public address (NAT64 local-use prefix (64:ff9b:1::/48))',
  );
  expect(await refusal('http://[2002:7f00:1::]:8080/')).toContain('6to4 (IPv4 127.0.0.1 inside IPv6)');
  // WHATWG URL parsing turns odd IPv4 spellings into dotted quads before the check.
  expect(await refusal('http://2130706433/')).toBe('WebhookUrlRefused: 127.0.0.1 is not a public address (loopback)');
  expect(await refusal('http://0x7f.1/')).toContain('127.0.0.1');
  const unresolved = await checkWebhookUrl('http://nowhere.example.com/', [], dnsAnswers).catch((err) => err);
  expect(unresolved).toBeInstanceOf(WebhookHostUnresolved);
  expect(unresolved.message).toContain('ENOTFOUND');
});

test('the allow-list admits a listed host name or address, and nothing else', async () => {
  expect(await refusal('http://127.0.0.1:8080/', ['127.0.0.1'])).toBe('allowed');
  expect(await refusal('http://[::1]:1/', ['127.0.0.1'])).toContain('WebhookUrlRefused');
  expect(await refusal('http://[::1]:1/', ['[0:0::1]'])).toBe('allowed');
  // localhost resolves to 127.0.0.1 and ::1: both must be allowed, or the name itself.
  expect(await refusal('http://localhost:1/', ['127.0.0.1'])).toContain('resolves to ::1');
  expect(await refusal('http://LOCALHOST:1/', ['localhost'])).toBe('allowed');
  expect(await refusal('http://intranet.example.com/', ['intranet.example.com'])).toBe('allowed');
  expect(await refusal('http://intranet.example.com/', ['10.1.2.3'])).toBe('allowed');
  expect(await refusal('http://10.0.0.2/', ['10.0.0.1'])).toContain('WebhookUrlRefused');
  await expect(checkWebhookUrl('gopher://x/', ['x'], dnsAnswers)).rejects.toBeInstanceOf(WebhookUrlRefused);
});

test('a lookup that hangs is cut off', async () => {
  const hanging: HostLookup = () => new Promise(() => undefined);
  const err = await checkWebhookUrl('http://slow.example.com/', [], hanging, 50).catch((e) => e);
  expect(err).toBeInstanceOf(WebhookHostUnresolved);
  expect(err.message).toContain('ETIMEOUT');
});
