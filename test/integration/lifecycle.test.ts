import net from 'node:net';
import { Client } from 'pg';
import { adminUrl } from '../helpers/global-setup';
import { isolatedPrefix, uniqueName } from '../helpers/harness';
import { runCli, spawnCli, type Spawned } from '../helpers/processes';

// A process's life as an orchestrator sees it: `keywarden migrate [--status]` before a rollout,
// /healthz and /readyz on API and worker-only processes, and the drain on SIGTERM (/readyz 503
// while the listener still serves, then a clean exit).

jest.setTimeout(120_000);

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { DATABASE_URL: process.env.TEST_DATABASE_URL, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false', KEYWARDEN_REDIS_PREFIX: isolatedPrefix('life'), ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** SIGTERM, then /readyz until it answers 503 (the listener must still be serving), then the exit code. */
async function drainAndExit(p: Spawned, base: string): Promise<{ readyz: { status: number; body: any }; healthz: number; code: number | null }> {
  p.child.kill('SIGTERM');
  let readyz = await get(`${base}/readyz`);
  for (let i = 0; i < 100 && readyz.status === 200; i++) readyz = await get(`${base}/readyz`);
  const healthz = (await get(`${base}/healthz`)).status;
  return { readyz, healthz, code: await p.exited };
}

describe('keywarden migrate', () => {
  const name = `kw_mig_${uniqueName('db').replace(/-/g, '_')}`;
  let url: string;
  beforeAll(async () => {
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const u = new URL(adminUrl());
    u.pathname = `/${name}`;
    url = u.toString();
  });
  afterAll(async () => {
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  test('--status on an empty database lists every migration as pending and exits 1', async () => {
    const r = await runCli(['migrate', '--status'], { DATABASE_URL: url });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(0, -1).every((l) => l.startsWith('pending '))).toBe(true);
    expect(lines.at(-1)).toMatch(/: 0 applied, \d+ pending$/);
  });

  test('migrate applies them; --status then exits 0, and migrate again changes nothing', async () => {
    const first = await runCli(['migrate'], { DATABASE_URL: url });
    expect(first.code).toBe(0);
    const applied = first.stdout.split('\n').filter((l) => l.startsWith('applied '));
    expect(applied.length).toBeGreaterThan(0);
    const status = await runCli(['migrate', '--status'], { DATABASE_URL: url });
    expect(status.code).toBe(0);
    expect(status.stdout).not.toContain('pending ');
    expect(status.stdout.split('\n').filter((l) => l.startsWith('applied ')).length).toBe(applied.length);
    const again = await runCli(['migrate'], { DATABASE_URL: url });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('applied ');
    expect(again.stdout).toContain(`up to date (${applied.length} migrations)`);
  });
});

test('an API draining on SIGTERM answers /readyz 503 while it still serves, then exits 0 and stops listening', async () => {
  const p = spawnCli(['api'], env({ SHUTDOWN_DRAIN_SECONDS: '5' }));
  const [, base] = await p.waitFor(/"url":"(http:\/\/[^"]+)"/, 90_000);
  expect((await get(`${base}/readyz`)).status).toBe(200);
  const r = await drainAndExit(p, base);
  expect(r.readyz).toEqual({ status: 503, body: expect.objectContaining({ ready: false, draining: true }) });
  expect(r.healthz).toBe(200);
  expect(r.code).toBe(0);
  await expect(fetch(`${base}/healthz`)).rejects.toThrow();
});

test('a worker-only process serves /healthz, /readyz and /metrics on METRICS_PORT, and drains the same way', async () => {
  const port = await freePort();
  const p = spawnCli(['worker'], env({ METRICS_PORT: String(port), SHUTDOWN_DRAIN_SECONDS: '5' }));
  const base = `http://127.0.0.1:${port}`;
  let health = await get(`${base}/healthz`).catch(() => ({ status: 0, body: null }));
  for (let i = 0; i < 300 && health.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 200));
    health = await get(`${base}/healthz`).catch(() => ({ status: 0, body: null }));
  }
  expect(health).toEqual({ status: 200, body: { status: 'ok' } });
  expect(await get(`${base}/readyz`)).toEqual({ status: 200, body: { ready: true, database: 'ok', redis: 'ok' } });
  expect((await fetch(`${base}/metrics`)).status).toBe(200);
  const r = await drainAndExit(p, base);
  expect(r.readyz.status).toBe(503);
  expect(r.readyz.body.draining).toBe(true);
  expect(r.healthz).toBe(200);
  expect(r.code).toBe(0);
});
