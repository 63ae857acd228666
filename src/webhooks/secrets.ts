import crypto from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { webhookRuntime } from './runtime';

// Webhook signing secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks), shown once
// and stored encrypted with AES-256-GCM under KEYWARDEN_ENCRYPTION_KEY. The ciphertext is bound
// to its endpoint (additional authenticated data), so a row's secret cannot be pasted onto
// another endpoint and still decrypt.

const FORMAT = 'v1';

function currentKey(): Buffer {
  const key = webhookRuntime().encryptionKey;
  if (!key) throw new Error('KEYWARDEN_ENCRYPTION_KEY is not configured in this process (configureWebhooks was not called)');
  return key;
}

export function generateWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

export function encryptSecret(secret: string, endpointId: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', currentKey(), iv);
  cipher.setAAD(Buffer.from(`webhook-endpoint:${endpointId}`));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function decryptSecret(stored: string, endpointId: string): string {
  const [format, iv, tag, ciphertext] = stored.split('.');
  if (format !== FORMAT || !iv || !tag || ciphertext === undefined) throw new Error('unrecognized webhook secret format');
  const decipher = crypto.createDecipheriv('aes-256-gcm', currentKey(), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(`webhook-endpoint:${endpointId}`));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

// Decrypted secrets by endpoint and stored ciphertext, per encryption key: a busy endpoint's
// deliveries sign with the same secret, and decrypting it for each one cost about 5% of a
// delivery's CPU. A rotated secret is a new ciphertext, so it is never served from an old entry.
const decrypted = new WeakMap<Buffer, LRUCache<string, string>>();

/** decryptSecret, remembered for the endpoint's current ciphertext. */
export function signingSecret(stored: string, endpointId: string): string {
  const key = currentKey();
  let cache = decrypted.get(key);
  if (!cache) {
    cache = new LRUCache<string, string>({ max: 1000 });
    decrypted.set(key, cache);
  }
  const id = `${endpointId}:${stored}`;
  let secret = cache.get(id);
  if (secret === undefined) {
    secret = decryptSecret(stored, endpointId);
    cache.set(id, secret);
  }
  return secret;
}
