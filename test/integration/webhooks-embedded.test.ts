import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { spawnCli } from '../helpers/processes';
import { startReceiver } from '../helpers/receiver';
import { isolatedPrefix } from '../helpers/webhooks';

// `npm start` on the embedded store (no DATABASE_URL): no LISTEN connection exists there, so the
// relay follows the process's own writes. A key created through GraphQL still reaches the
// receiver, signed with a secret encrypted under the development key generated into the data dir.

jest.setTimeout(120_000);

test('on the embedded store a key change is delivered, signed with a secret kept under a development key generated into the data dir with 0600 permissions', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-embedded-'));
  const rx = await startReceiver();
  const p = spawnCli(['start'], {
    DATABASE_URL: undefined,
    KEYWARDEN_ENCRYPTION_KEY: undefined,
    KEYWARDEN_DATA_DIR: dataDir,
    PORT: '0',
    KEYWARDEN_REDIS_PREFIX: isolatedPrefix('embedded'),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  try {
    const [, url] = await p.waitFor(/"url":"(http:\/\/[^"]+)"/, 90_000);
    await p.waitFor(/workers started/, 30_000);
    const master = p.stdout().match(/^(ak_root_[0-9A-Za-z]+)$/m)![1];
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const r = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` }, body: JSON.stringify({ query, variables }) });
      return (await r.json()) as any;
    };
    const ep = await gql(`mutation($url: String!) { createWebhookEndpoint(input: { url: $url, eventTypes: ["key.created"] }) { secret } }`, { url: rx.url });
    expect(ep.errors).toBeUndefined();
    const key = await gql(`mutation { createKey(input: { name: "e", type: DEVELOPMENT }) { key { id } } }`);
    await rx.waitFor((r) => r.length >= 1, 20_000, 'the key.created delivery');
    const got = rx.received[0];
    const payload = new Webhook(ep.data.createWebhookEndpoint.secret).verify(got.body, { 'webhook-id': got.id, 'webhook-timestamp': got.timestamp, 'webhook-signature': got.signature }) as any;
    expect(payload.data.key.id).toBe(key.data.createKey.key.id);

    const keyFile = path.join(dataDir, 'encryption.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
  } finally {
    p.child.kill('SIGTERM');
    await p.exited;
    await rx.close();
  }
  expect(p.child.exitCode).toBe(0);
});
