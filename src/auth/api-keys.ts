import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from '../config';

/**
 * API keys. Only SHA-256 digests are kept in memory; a keys file may hold digests instead of
 * keys, so plaintext never needs to sit on the server's disk. Every lookup compares against every
 * digest in constant time, so timing says nothing about which key (or how much of one) matched.
 */
export interface ApiKeyStore {
  /** Whether any key is configured; without keys the API runs open. */
  readonly enabled: boolean;
  /** The name of the key that `token` is, or undefined. */
  identify(token: string): string | undefined;
}

/**
 * The principal of every request while the API runs open, and the owner of every job made then.
 * No key may take this name: it would inherit those jobs (and their webhook secret).
 */
export const ANONYMOUS = 'anonymous';

/** Who a job belongs to: jobs made before owners were recorded belong to the open-mode principal. */
export const jobOwner = (data: { owner?: string }): string => data.owner ?? ANONYMOUS;

interface KeyEntry {
  name: string;
  digest: Buffer;
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Parses key definitions, one per line or comma: `name:key`, `name:sha256:<hex digest>`, or a bare
 * key (named key-1, key-2, ...). Blank lines and `#` comments are ignored.
 */
export function parseKeyDefinitions(text: string, source: string): KeyEntry[] {
  const entries: KeyEntry[] = [];
  const lines = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const [i, line] of lines.entries()) {
    const digestMatch = /^([\w.-]+):sha256:([0-9a-f]{64})$/i.exec(line);
    if (digestMatch) {
      checkName(digestMatch[1], source);
      entries.push({ name: digestMatch[1], digest: Buffer.from(digestMatch[2], 'hex') });
      continue;
    }
    const named = /^([\w.-]+):(\S+)$/.exec(line);
    const [name, key] = named ? [named[1], named[2]] : [`key-${i + 1}`, line];
    checkName(name, source);
    if (key.length < 16) throw new ConfigError([`${source}: API key "${name}" is shorter than 16 characters`]);
    entries.push({ name, digest: sha256(key) });
  }
  const names = entries.map((e) => e.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError([`${source}: API key name "${dup}" is used twice`]);
  return entries;
}

function checkName(name: string, source: string): void {
  if (name === ANONYMOUS) {
    throw new ConfigError([
      `${source}: API key name "${ANONYMOUS}" is reserved (it owns the jobs made while the API ran without keys); rename the key`,
    ]);
  }
}

/** Loads keys from the API_KEYS value and/or the API_KEYS_FILE file. */
export function loadApiKeys(inline: string | undefined, file: string | undefined): ApiKeyStore {
  const entries = [
    ...(inline ? parseKeyDefinitions(inline, 'API_KEYS') : []),
    ...(file ? parseKeyDefinitions(fs.readFileSync(file, 'utf8'), file) : []),
  ];
  return {
    enabled: entries.length > 0,
    identify(token) {
      const given = sha256(token);
      let found: string | undefined;
      for (const entry of entries) {
        if (timingSafeEqual(given, entry.digest) && found === undefined) found = entry.name;
      }
      return found;
    },
  };
}
