import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

// Fault tests stop, kill and restart their servers: each starts a Redis and a PostgreSQL of its
// own on free ports (the shared ones on 6379 and 5432 stay untouched). PostgreSQL refuses to run
// as root, so as root initdb and pg_ctl run as the postgres user in a directory it owns.

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface OwnRedis {
  url: string;
  port: number;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing is answered until resume(). */
  pause(): void;
  resume(): void;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const own: OwnRedis = {
    url,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await until(async () => {
        const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      }, `redis on ${port}`);
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
  await own.start();
  return own;
}

export interface OwnPostgres {
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  adminUrl: string;
  port: number;
  /** A database of that name, created. */
  createDatabase(name: string): Promise<string>;
  start(): Promise<void>;
  /** Immediate shutdown: connections are cut as in a crash. */
  stop(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const version = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, 'bin', name)))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error(`no ${name} under ${base}`);
  return path.join(base, version, 'bin', name);
}

function asPostgres(cmd: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  execFileSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, { stdio: 'pipe' });
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-fault-pg-'));
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  asPostgres(pgBin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const ready = () =>
    until(async () => {
      const c = new Client({ connectionString: adminUrl });
      c.on('error', () => {});
      await c.connect();
      await c.end();
      return true;
    }, `postgres on ${port}`);
  const own: OwnPostgres = {
    adminUrl,
    port,
    async createDatabase(name) {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`CREATE DATABASE "${name}"`);
      await c.end();
      return `postgresql://postgres@127.0.0.1:${port}/${name}`;
    },
    async start() {
      const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=100`;
      asPostgres(pgBin('pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', 'start']);
      await ready();
    },
    async stop() {
      asPostgres(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    async destroy() {
      try {
        await own.stop();
      } catch {}
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
