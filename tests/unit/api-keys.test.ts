import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ANONYMOUS, loadApiKeys, parseKeyDefinitions, sha256 } from '../../src/auth/api-keys';

test('keys are identified by name; unknown tokens are not', () => {
  const keys = loadApiKeys('alice:alice-secret-key-0001, bob:bob-secret-key-000002', undefined);
  expect(keys.enabled).toBe(true);
  expect(keys.identify('alice-secret-key-0001')).toBe('alice');
  expect(keys.identify('bob-secret-key-000002')).toBe('bob');
  expect(keys.identify('alice-secret-key-0002')).toBeUndefined();
  expect(keys.identify('')).toBeUndefined();
});

test('a keys file may hold only digests; bare keys get names', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keys-')), 'keys');
  fs.writeFileSync(
    file,
    `# team keys\nci:sha256:${sha256('ci-key-that-is-long-enough').toString('hex')}\n\nplain-key-0123456789\n`,
  );
  const keys = loadApiKeys(undefined, file);
  expect(keys.identify('ci-key-that-is-long-enough')).toBe('ci');
  expect(keys.identify('plain-key-0123456789')).toBe('key-2');
});

test('no keys: open; short keys and duplicate names are refused', () => {
  expect(loadApiKeys(undefined, undefined).enabled).toBe(false);
  expect(() => parseKeyDefinitions('a:short', 'API_KEYS')).toThrow('shorter than 16');
  expect(() => parseKeyDefinitions('a:0123456789abcdef0,a:0123456789abcdef1', 'API_KEYS')).toThrow('used twice');
});

test('no key may be named like the open-mode principal, which owns the jobs made without keys', () => {
  for (const line of ['anonymous:0123456789abcdef0', `anonymous:sha256:${'0'.repeat(64)}`]) {
    expect(() => loadApiKeys(line, undefined)).toThrow('API_KEYS: API key name "anonymous" is reserved');
  }
  expect(ANONYMOUS).toBe('anonymous');
  expect(loadApiKeys('anonymous2:0123456789abcdef0', undefined).identify('0123456789abcdef0')).toBe('anonymous2');
});
