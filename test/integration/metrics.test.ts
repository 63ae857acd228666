import { startHarness, type Harness } from '../helpers/harness';

let h: Harness;
let locked: Harness;
beforeAll(async () => {
  h = await startHarness();
  locked = await startHarness({ app: { metricsToken: 'metrics-secret-token' } });
});
afterAll(async () => {
  await h.close();
  await locked.close();
});

test('GET /metrics reports verification decisions by code, latency and cache lookups', async () => {
  const acct = await h.newAccount('metrics');
  const r = await h.gql(`mutation { createKey(input: { name: "m", type: PRODUCTION }) { secret } }`, {}, acct.secret);
  await h.verify({ key: r.data.createKey.secret });
  await h.verify({ key: r.data.createKey.secret, permission: 'FULL_ACCESS' });
  const res = await fetch(`${h.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toMatch(/keywarden_verify_decisions_total\{code="VALID",via="verify"\} [1-9]/);
  expect(text).toMatch(/keywarden_verify_decisions_total\{code="INSUFFICIENT_PERMISSIONS",via="verify"\} [1-9]/);
  expect(text).toMatch(/keywarden_verify_duration_seconds_count [1-9]/);
  expect(text).toMatch(/keywarden_key_cache_lookups_total\{result="hit"\} [1-9]/);
});

test('with METRICS_TOKEN set, /metrics needs the token', async () => {
  expect((await fetch(`${locked.url}/metrics`)).status).toBe(403);
  expect((await fetch(`${locked.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
  expect((await fetch(`${locked.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-token' } })).status).toBe(200);
});

test('queue depths are read when /metrics is scraped', async () => {
  const { setQueueCounts } = await import('../../src/infra/metrics');
  setQueueCounts(async () => ({ 'webhook-deliveries': { waiting: 3, active: 1 }, 'scheduled-scans': { delayed: 6 } }));
  try {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toContain('keywarden_queue_jobs{queue="webhook-deliveries",state="waiting"} 3');
    expect(text).toContain('keywarden_queue_jobs{queue="scheduled-scans",state="delayed"} 6');
    expect(text).toContain('keywarden_webhook_attempts_total');
  } finally {
    setQueueCounts(undefined);
  }
});
