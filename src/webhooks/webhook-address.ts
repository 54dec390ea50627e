import dns from 'node:dns';
import net from 'node:net';

/**
 * Where a webhook may be sent: never into the server's own network (SSRF). The API checks a URL at
 * submission and the worker again right before each delivery, since DNS answers can change.
 */

/** A resolved address, as dns.lookup answers with `all: true`. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

/** A URL the rules refuse: not http(s), or a host that is (or resolves to) a non-public address. */
export class WebhookUrlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUrlRefused';
  }
}

/** The host name could not be resolved (may be temporary). */
export class WebhookHostUnresolved extends Error {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`webhook host "${host}" does not resolve (${reason})`);
    this.name = 'WebhookHostUnresolved';
  }
}

const ipv4ToInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

/** IPv4 ranges a webhook must not reach, as [first address, prefix length, what it is]. */
const IPV4_BLOCKED: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private (shared address space)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved (IETF protocol assignments)'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (includes broadcast)'],
];

function ipv4Reason(ip: string): string | undefined {
  const n = ipv4ToInt(ip);
  for (const [base, bits, what] of IPV4_BLOCKED) {
    const size = 2 ** (32 - bits);
    if (Math.floor(n / size) === Math.floor(ipv4ToInt(base) / size)) return what;
  }
  return undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded dotted IPv4 tail included). */
export function ipv6Groups(ip: string): number[] {
  let text = ip;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = ipv4ToInt(tail[1]);
    text = `${text.slice(0, tail.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(rest);
  const zeros = rest === undefined ? [] : new Array(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/** The IPv4 address held in two 16-bit groups. */
const ipv4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * IPv6 forms that carry an IPv4 address. Those a resolver may hand out for an ordinary IPv4 host
 * are judged by that address; tunnel and deprecated forms are refused whatever they carry, since
 * where they lead depends on relays and translators this server cannot see.
 */
function embeddedIpv4Reason(g: number[]): string | undefined {
  const zeroUntil = (i: number) => g.slice(0, i).every((x) => x === 0);
  const tail = ipv4Of(g[6], g[7]);
  const inner = () => {
    const reason = ipv4Reason(tail);
    return reason && `${reason} (IPv4 ${tail} inside IPv6)`;
  };
  // IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d (SIIT), NAT64 64:ff9b::a.b.c.d.
  if (zeroUntil(5) && g[5] === 0xffff) return inner();
  if (zeroUntil(4) && g[4] === 0xffff && g[5] === 0) return inner();
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return inner();
  // Where the IPv4 address sits in a local-use NAT64 prefix depends on the operator's prefix length.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'NAT64 local-use prefix (64:ff9b:1::/48)';
  if (zeroUntil(6)) return `IPv4-compatible (deprecated; IPv4 ${tail} inside IPv6)`;
  if (g[0] === 0x2002) return `6to4 (IPv4 ${ipv4Of(g[1], g[2])} inside IPv6)`;
  // Teredo 2001:0::/32: the client's IPv4 address is the last 32 bits, inverted.
  if (g[0] === 0x2001 && g[1] === 0) return `Teredo (IPv4 ${ipv4Of(g[6] ^ 0xffff, g[7] ^ 0xffff)} inside IPv6)`;
  return undefined;
}

function ipv6Reason(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  const zeroUntil = (i: number) => g.slice(0, i).every((x) => x === 0);
  if (zeroUntil(8)) return 'unspecified';
  if (zeroUntil(7) && g[7] === 1) return 'loopback';
  const embedded = embeddedIpv4Reason(g);
  if (embedded !== undefined) return embedded;
  if ((g[0] & 0xfe00) === 0xfc00) return 'private (unique local)';
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0] & 0xffc0) === 0xfec0) return 'private (site-local)';
  if ((g[0] & 0xff00) === 0xff00) return 'multicast';
  return undefined;
}

/**
 * Why an IP address is no place for a webhook (loopback, private, link-local, unspecified,
 * multicast, reserved, IPv4 of those inside IPv6, or an IPv6 tunnel or deprecated form that
 * carries IPv4), or undefined for a public address.
 */
export function blockedAddressReason(ip: string): string | undefined {
  const address = ip.replace(/%.*$/, ''); // an IPv6 zone id
  if (net.isIPv4(address)) return ipv4Reason(address);
  if (net.isIPv6(address)) return ipv6Reason(address);
  return 'not an IP address';
}

/** One spelling per address or host name, so allow-list entries match however they are written. */
export function canonicalHost(host: string): string {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (net.isIPv6(bare))
    return ipv6Groups(bare)
      .map((x) => x.toString(16))
      .join(':');
  return bare;
}

const systemLookup: HostLookup = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

/** What a checked URL connects to: every address its host resolved to, all of them allowed. */
export interface CheckedWebhookUrl {
  url: URL;
  addresses: ResolvedAddress[];
}

/**
 * Checks a webhook URL: http(s) only, and its host (every address it resolves to) public, unless
 * the host name or the address is in `allowList`. Throws WebhookUrlRefused or WebhookHostUnresolved.
 */
export async function checkWebhookUrl(
  raw: string,
  allowList: readonly string[],
  lookup: HostLookup = systemLookup,
  timeoutMs = 5000,
): Promise<CheckedWebhookUrl> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefused('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookUrlRefused(`only http and https URLs are allowed (got ${url.protocol})`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const allowed = new Set(allowList.map(canonicalHost));
  const hostAllowed = allowed.has(canonicalHost(host));
  let addresses: ResolvedAddress[];
  if (net.isIP(host)) {
    addresses = [{ address: host, family: net.isIPv6(host) ? 6 : 4 }];
  } else {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), timeoutMs);
    });
    try {
      addresses = await Promise.race([lookup(host), timeout]);
    } catch (err) {
      throw new WebhookHostUnresolved(host, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
    if (!addresses.length) throw new WebhookHostUnresolved(host, 'no addresses');
  }
  if (!hostAllowed) {
    for (const { address } of addresses) {
      const reason = blockedAddressReason(address);
      if (reason && !allowed.has(canonicalHost(address))) {
        throw new WebhookUrlRefused(
          address === host
            ? `${host} is not a public address (${reason})`
            : `${host} resolves to ${address}, not a public address (${reason})`,
        );
      }
    }
  }
  return { url, addresses };
}
