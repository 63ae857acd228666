import { Webhook } from 'standardwebhooks';

// Standard Webhooks 1.0 headers, signed with the `standardwebhooks` package itself so receivers
// using any Standard Webhooks library verify them. While an old secret is in its grace period
// both signatures go out, space-separated: receivers holding either secret accept the message.

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(secrets: readonly string[], id: string, timestamp: Date, body: string): SignedHeaders {
  if (secrets.length === 0) throw new Error('no signing secret');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, timestamp, body)).join(' '),
  };
}
