#!/usr/bin/env node
// Start-up smoke test on whatever node runs it (.ci/run uses it for the second Node LTS line):
// `keywarden --version`, then `keywarden api` on a free port against a database of its own
// (created through TEST_DATABASE_ADMIN_URL and dropped after) and REDIS_URL, GET /healthz and
// /readyz, SIGTERM, exit 0. Exit 1 on any failure.
const { spawn, execFileSync } = require('node:child_process');
const path = require('node:path');
const { Client } = require('pg');

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const dbName = `kw_smoke_${process.pid}`;

async function admin(sql) {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const bin = path.join(__dirname, '..', 'bin', 'keywarden.js');
class SmokeFailure extends Error {}
const fail = (message) => {
  throw new SmokeFailure(message);
};

async function main() {
  await admin(`CREATE DATABASE "${dbName}"`);
  try {
    await smoke();
  } finally {
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  }
}

async function smoke() {
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${dbName}`;
  const version = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim();
  const env = { ...process.env, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false', LOG_LEVEL: 'info', KEYWARDEN_REDIS_PREFIX: `kwsmoke-${process.pid}`, DATABASE_URL: databaseUrl.toString() };
  const child = spawn(process.execPath, [bin, 'api'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 120_000);
    child.on('exit', () => resolve(null));
    const tick = () => {
      const m = out.match(/"url":"(https?:\/\/[^"]+)"/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      } else if (child.exitCode === null) setTimeout(tick, 100);
    };
    tick();
  });
  if (!url) fail(`the API did not start:\n${out}`);
  const health = await fetch(`${url}/healthz`);
  // A loaded machine may miss /readyz's 2 s Redis deadline once: ask again a few times.
  let ready = await fetch(`${url}/readyz`);
  for (let i = 0; i < 10 && ready.status !== 200; i++) ready = await fetch(`${url}/readyz`);
  const readyBody = await ready.text();
  child.kill('SIGTERM');
  const code = await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve)));
  if (health.status !== 200 || ready.status !== 200) fail(`/healthz ${health.status}, /readyz ${ready.status} ${readyBody}`);
  if (code !== 0) fail(`exit code ${code} after SIGTERM:\n${out}`);
  process.stdout.write(`smoke: keywarden ${version} on Node ${process.version}: started, healthy, ready, stopped cleanly\n`);
}

main().catch((err) => {
  process.stderr.write(`smoke: ${err.message}\n`);
  process.exit(1);
});
