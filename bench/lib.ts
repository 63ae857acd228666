import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import Redis from 'ioredis';

// Shared pieces of the benchmarks: a throwaway database, child processes, load runs.

export const ROOT = path.join(__dirname, '..');

export function adminUrl(): string {
  return process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `kw_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The node flags Keywarden runs with: `npm start`, `npm run api|worker` and bin/keywarden.js's
 * own `#!` line pass them (test/unit/node-flags.test.ts keeps the three in step). A larger young
 * generation lets the short-lived objects of each request die in fewer scavenges: about 5% more
 * verifications per second.
 */
export const KEYWARDEN_NODE_ARGS = ['--max-semi-space-size=32'];

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere.
 * Deliveries per CPU-second hold steadier than deliveries per second on a shared machine.
 */
export function cpuSecondsOf(pid: number | undefined): number | null {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 12th and 13th.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

export async function startProcess(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (ready.test(out)) {
        clearInterval(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`process exited: ${out}`));
      }
    }, 50);
  });
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

export interface LoadOptions {
  url: string;
  body?: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  duration?: number;
  connections?: number;
  overallRate?: number;
  amount?: number;
}

/**
 * Which load generator runs a timed, unthrottled run: wrk when it is installed (a C program that
 * takes far less of the two shared cores than autocannon, so the servers get more of them), else
 * autocannon. BENCH_LOADGEN=autocannon forces autocannon. Runs at a fixed rate or of a fixed
 * number of requests always use autocannon (wrk has neither). Baseline and subject of one
 * comparison always go through the same generator.
 */
export function loadGenerator(opts: Pick<LoadOptions, 'overallRate' | 'amount'> = {}): 'wrk' | 'autocannon' {
  if (opts.overallRate || opts.amount || process.env.BENCH_LOADGEN === 'autocannon') return 'autocannon';
  return wrkInstalled() ? 'wrk' : 'autocannon';
}

let wrkFound: boolean | undefined;
function wrkInstalled(): boolean {
  wrkFound ??= spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
  return wrkFound;
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  if (loadGenerator(opts) === 'wrk') return loadWithWrk(opts);
  const r = await autocannon({
    url: opts.url,
    method: opts.method ?? 'POST',
    body: opts.body,
    headers: { 'content-type': 'application/json', ...opts.headers },
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration ?? 10 }),
    connections: opts.connections ?? 32,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx, requests: r.requests.total };
}

/** One wrk run (one thread: the machine has two cores to share); latencies in ms like autocannon's. */
async function loadWithWrk(opts: LoadOptions): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json', ...opts.headers };
  const script = [
    `wrk.method = "${opts.method ?? 'POST'}"`,
    opts.body === undefined ? '' : `wrk.body = [==[${opts.body}]==]`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[ [==[${k}]==] ] = [==[${v}]==]`),
    'done = function(summary, latency)',
    '  local e = summary.errors',
    '  io.write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))',
    'end',
  ].join('\n');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kw-wrk-')), 'load.lua');
  fs.writeFileSync(file, script);
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('wrk', ['-t1', `-c${opts.connections ?? 32}`, `-d${opts.duration ?? 10}s`, '-s', file, opts.url], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const m = /^WRK (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
    if (!m) throw new Error(`unexpected wrk output: ${out}`);
    // errors.status: answers with a status of 400 or more.
    const [requests, durationUs, errors, non2xx, p50Us, p99Us] = m.slice(1).map(Number);
    return { rps: requests / (durationUs / 1e6), p50: p50Us / 1000, p99: p99Us / 1000, errors, non2xx, requests };
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |').join('\n');
}

/** Sequential requests over one keep-alive connection: per-request latency in microseconds. */
export async function sequentialLatency(opts: { url: string; method?: string; headers?: Record<string, string>; body?: string; count: number }): Promise<{ p50: number; p99: number; samples: number[] }> {
  const http = await import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(opts.url);
  const times: number[] = [];
  for (let i = 0; i < opts.count; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ agent, hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(opts.body);
    });
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  agent.destroy();
  return { ...percentiles(times), samples: times };
}

/** p50 and p99 of latency samples (sorts them in place). */
export function percentiles(samples: number[]): { p50: number; p99: number } {
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length * 0.5)], p99: samples[Math.floor(samples.length * 0.99)] };
}

/** Runs one benchmark as a script: prints its table, exits 0, or prints the error and exits 1. */
export function runMain(title: string, bench: () => Promise<{ rows: (string | number)[][] }>): void {
  bench().then(
    (r) => {
      process.stdout.write(`${title}\n${table(r.rows)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(1);
    },
  );
}

/** Removes every Redis key under `prefix`: a benchmark or a test run (its global teardown) leaves nothing behind in a shared Redis. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** A fresh Redis prefix for one benchmark's processes. */
export function benchPrefix(label: string): string {
  return `kwbench-${label}-${Date.now().toString(36)}${crypto.randomBytes(2).toString('hex')}`;
}

/** A `keywarden api` child process on a fresh port; `master` is the printed first-start key. */
export async function startApi(dbUrl: string, label: string, env: Record<string, string> = {}): Promise<{ port: number; master: string; pid: number; gql: (query: string) => Promise<any>; stop(): Promise<void> }> {
  const port = await freePort();
  // e.g. BENCH_API_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the API processes.
  const nodeArgs = process.env.BENCH_API_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const prefix = benchPrefix(label);
  const api = await startProcess(
    [...KEYWARDEN_NODE_ARGS, ...nodeArgs, 'bin/keywarden.js', 'api'],
    { DATABASE_URL: dbUrl, PORT: String(port), KEYWARDEN_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', KEYWARDEN_BOOTSTRAP: 'true', UPSTREAM_ALLOW_PRIVATE_NETWORKS: 'true', ...env },
    /Keywarden API listening/,
  );
  // A second API on the same database prints no master key (the first one bootstrapped it).
  const master = /^(ak_root_\w+)$/m.exec(api.output())?.[1] ?? '';
  const gql = async (query: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` }, body: JSON.stringify({ query }) });
    const json = (await res.json()) as any;
    if (json.errors) throw new Error(JSON.stringify(json.errors));
    return json.data;
  };
  return {
    port,
    master,
    pid: api.child.pid!,
    gql,
    stop: async () => {
      await api.stop();
      await dropRedisPrefix(prefix);
    },
  };
}
