import crypto from 'node:crypto';
import zlib from 'node:zlib';
import baseX from 'base-x';

// Secret format: ak_<env>_<body><checksum>
//   env      dev | prod | int | emg (by key type), root (master keys)
//   body     base62 of 32 CSPRNG bytes
//   checksum CRC32 of everything before it, 6 base62 chars (left-padded with '0')
// The checksum lets the verify path, and `keywarden scan`, reject a mistyped or made-up key
// without touching the database.

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = baseX(BASE62_ALPHABET);

export type SecretEnv = 'dev' | 'prod' | 'int' | 'emg' | 'root';

const CHECKSUM_LENGTH = 6;
const START_BODY_CHARS = 4;
const MAX_SECRET_LENGTH = 128;

/** Finds candidate secrets in text (the scanner and the log scrubber use it). */
export const SECRET_CANDIDATE = /\bak_(dev|prod|int|emg|root)_([0-9A-Za-z]{30,80})\b/g;
const SECRET_SHAPE = /^ak_(dev|prod|int|emg|root)_([0-9A-Za-z]{30,80})$/;

export function checksumOf(text: string): string {
  const crc = zlib.crc32(Buffer.from(text, 'utf8')) >>> 0;
  let out = '';
  let n = crc;
  do {
    out = BASE62_ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(CHECKSUM_LENGTH, '0');
}

export function generateSecret(env: SecretEnv): string {
  const body = base62.encode(crypto.randomBytes(32));
  const head = `ak_${env}_${body}`;
  return head + checksumOf(head);
}

interface ParsedSecret {
  env: SecretEnv;
  body: string;
}

/** Checks shape and checksum only; null for anything that cannot be a Keywarden secret. */
export function parseSecret(secret: unknown): ParsedSecret | null {
  if (typeof secret !== 'string' || secret.length > MAX_SECRET_LENGTH) return null;
  const m = SECRET_SHAPE.exec(secret);
  if (!m) return null;
  const head = secret.slice(0, -CHECKSUM_LENGTH);
  const expected = checksumOf(head);
  const actual = secret.slice(-CHECKSUM_LENGTH);
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(actual))) return null;
  return { env: m[1] as SecretEnv, body: m[2].slice(0, -CHECKSUM_LENGTH) };
}

/** The stored form of a secret. A 256-bit random secret needs no salt or stretching. */
export function digestSecret(secret: string): string {
  // crypto.hash is the one-shot form (Node 20.12+): the same digest without a Hash object per call.
  return oneShotHash ? oneShotHash('sha256', secret, 'hex') : crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}
const oneShotHash = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

/** What lists show: the prefix plus the first four body characters. */
export function startOf(secret: string): string {
  const parsed = SECRET_SHAPE.exec(secret);
  if (!parsed) throw new Error('not a Keywarden secret');
  return `ak_${parsed[1]}_${parsed[2].slice(0, START_BODY_CHARS)}`;
}

/** What is stored of a new secret: its digest, and its start for lists. */
export function storedSecret(secret: string): { digest: string; start: string } {
  return { digest: digestSecret(secret), start: startOf(secret) };
}

/** A secret as it may be shown after creation: start, then an ellipsis. */
export function maskSecret(secret: string): string {
  const m = SECRET_SHAPE.exec(secret);
  return m ? `${startOf(secret)}…${'*'.repeat(4)}` : '***';
}
