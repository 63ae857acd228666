import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, resolveEncryptionKey } from '../../src/config';

// KEYWARDEN_ENCRYPTION_KEY (README, Configuration): generated into the data dir in development, required in production.

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kw-enc-'));

test('outside production a missing key is generated once into <data dir>/encryption.key (0600) and reused after', () => {
  const dataDir = path.join(tmp(), 'nested');
  const first = resolveEncryptionKey({ encryptionKey: undefined, nodeEnv: 'development', dataDir });
  expect(first).toHaveLength(32);
  expect(fs.statSync(path.join(dataDir, 'encryption.key')).mode & 0o777).toBe(0o600);
  expect(resolveEncryptionKey({ encryptionKey: undefined, nodeEnv: 'development', dataDir }).equals(first)).toBe(true);
  expect(fs.readdirSync(dataDir)).toEqual(['encryption.key']);
});

test('a configured key is used as given and nothing is written', () => {
  const dataDir = tmp();
  const key = crypto.randomBytes(32);
  expect(resolveEncryptionKey({ encryptionKey: key, nodeEnv: 'production', dataDir })).toBe(key);
  expect(fs.readdirSync(dataDir)).toEqual([]);
});

test('in production a missing key stops start-up naming KEYWARDEN_ENCRYPTION_KEY, and no file is generated', () => {
  const dataDir = tmp();
  expect(() => resolveEncryptionKey({ encryptionKey: undefined, nodeEnv: 'production', dataDir })).toThrow(ConfigError);
  expect(() => resolveEncryptionKey({ encryptionKey: undefined, nodeEnv: 'production', dataDir })).toThrow(/KEYWARDEN_ENCRYPTION_KEY is required/);
  expect(fs.readdirSync(dataDir)).toEqual([]);
});

test('a damaged key file is refused rather than replaced (the stored secrets depend on it)', () => {
  const dataDir = tmp();
  fs.writeFileSync(path.join(dataDir, 'encryption.key'), 'short\n');
  expect(() => resolveEncryptionKey({ encryptionKey: undefined, nodeEnv: 'development', dataDir })).toThrow(/must hold 32 bytes/);
  expect(fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8')).toBe('short\n');
});
