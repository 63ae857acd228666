import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signWebhook } from '../../src/webhooks/signing';
import { configureWebhooks } from '../../src/webhooks/runtime';
import { decryptSecret, encryptSecret, generateWebhookSecret, signingSecret } from '../../src/webhooks/secrets';

// Standard Webhooks signing (checked against the standardwebhooks library and against the
// specification's HMAC by hand) and the encryption of secrets at rest.

beforeAll(() => configureWebhooks({ encryptionKey: crypto.randomBytes(32) }));

const id = 'msg_2Lh9KRb0pzN4LePd3XiA4oH2SP9';
const at = new Date('2026-11-24T12:00:00Z');
const body = JSON.stringify({ type: 'key.created', timestamp: at.toISOString(), data: { key: { id: 'k' } } });

test('secrets are whsec_ and the base64 of 32 random bytes, never the same twice', () => {
  const a = generateWebhookSecret();
  expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
  expect(generateWebhookSecret()).not.toBe(a);
});

test('headers carry the id, the unix timestamp and a v1 signature that standardwebhooks verifies', () => {
  const secret = generateWebhookSecret();
  const headers = signWebhook([secret], id, at, body);
  expect(headers['webhook-id']).toBe(id);
  expect(headers['webhook-timestamp']).toBe(String(at.getTime() / 1000));
  const hmac = crypto
    .createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
    .update(`${id}.${headers['webhook-timestamp']}.${body}`)
    .digest('base64');
  expect(headers['webhook-signature']).toBe(`v1,${hmac}`);
  const wh = new Webhook(secret);
  // The library refuses timestamps more than five minutes off: verify at the signing moment.
  jest.useFakeTimers({ now: at });
  try {
    expect(wh.verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => wh.verify(body.replace('"k"', '"x"'), { ...headers })).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow();
  } finally {
    jest.useRealTimers();
  }
});

test('two secrets give two space-separated signatures, each verifying with its own secret', () => {
  const [fresh, old] = [generateWebhookSecret(), generateWebhookSecret()];
  const headers = signWebhook([fresh, old], id, at, body);
  const sigs = headers['webhook-signature'].split(' ');
  expect(sigs).toHaveLength(2);
  jest.useFakeTimers({ now: at });
  try {
    expect(() => new Webhook(fresh).verify(body, { ...headers, 'webhook-signature': sigs[0] })).not.toThrow();
    expect(() => new Webhook(old).verify(body, { ...headers, 'webhook-signature': sigs[1] })).not.toThrow();
    expect(() => new Webhook(old).verify(body, { ...headers, 'webhook-signature': sigs[0] })).toThrow();
  } finally {
    jest.useRealTimers();
  }
});

test('a secret encrypted at rest decrypts only for its own endpoint, and any tampering is detected', () => {
  const secret = generateWebhookSecret();
  const endpointId = crypto.randomUUID();
  const stored = encryptSecret(secret, endpointId);
  expect(stored).not.toContain(secret.slice(6));
  expect(encryptSecret(secret, endpointId)).not.toBe(stored);
  expect(decryptSecret(stored, endpointId)).toBe(secret);
  expect(() => decryptSecret(stored, crypto.randomUUID())).toThrow();
  const parts = stored.split('.');
  const flipped = Buffer.from(parts[3], 'base64url');
  flipped[0] ^= 1;
  expect(() => decryptSecret([parts[0], parts[1], parts[2], flipped.toString('base64url')].join('.'), endpointId)).toThrow();
});

test('a different encryption key cannot read stored secrets', () => {
  const endpointId = crypto.randomUUID();
  const stored = encryptSecret('whsec_x', endpointId);
  configureWebhooks({ encryptionKey: crypto.randomBytes(32) });
  expect(() => decryptSecret(stored, endpointId)).toThrow();
});

test('the remembered signing secret follows the stored ciphertext and the encryption key: a rotated secret or another key is never served from memory', () => {
  configureWebhooks({ encryptionKey: crypto.randomBytes(32) });
  const endpointId = crypto.randomUUID();
  const first = encryptSecret('whsec_first', endpointId);
  expect(signingSecret(first, endpointId)).toBe('whsec_first');
  expect(signingSecret(first, endpointId)).toBe('whsec_first');
  const rotated = encryptSecret('whsec_rotated', endpointId);
  expect(signingSecret(rotated, endpointId)).toBe('whsec_rotated');
  // Bound to its endpoint as decryptSecret is, even once remembered for the right one.
  expect(() => signingSecret(first, crypto.randomUUID())).toThrow();
  configureWebhooks({ encryptionKey: crypto.randomBytes(32) });
  expect(() => signingSecret(first, endpointId)).toThrow();
});
