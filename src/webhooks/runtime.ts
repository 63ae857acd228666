import { systemResolve, type Resolve, type SsrfPolicy } from '../infra/ssrf';

// Process-wide webhook settings, set once at start-up (app.ts) from the configuration: the key
// that encrypts secrets and the SSRF policy. Held here rather than passed through every GraphQL
// context, since both are fixed for the life of the process. Tests set them the same way.

interface WebhookRuntime {
  encryptionKey: Buffer | undefined;
  policy: SsrfPolicy;
  resolve: Resolve;
}

const runtime: WebhookRuntime = { encryptionKey: undefined, policy: { allowPrivateNetworks: false }, resolve: systemResolve };

export function configureWebhooks(opts: { encryptionKey?: Buffer; allowPrivateNetworks?: boolean; resolve?: Resolve }): void {
  if (opts.encryptionKey !== undefined) {
    if (opts.encryptionKey.length !== 32) throw new Error('the webhook encryption key must be 32 bytes');
    runtime.encryptionKey = opts.encryptionKey;
  }
  if (opts.allowPrivateNetworks !== undefined) runtime.policy = { allowPrivateNetworks: opts.allowPrivateNetworks };
  if (opts.resolve !== undefined) runtime.resolve = opts.resolve;
}

export function webhookRuntime(): Readonly<WebhookRuntime> {
  return runtime;
}
