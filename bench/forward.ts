import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, freshDatabase, load, percentiles, ROOT, runMain, sequentialLatency, startApi, startProcess } from './lib';

// Forward auth behind nginx: one nginx process (examples/nginx/nginx.conf, worker_processes 1)
// serves the same upstream (a bare node:http server) on two ports, once proxying alone and once
// asking Keywarden's /v1/auth/forward first (auth_request). What Keywarden's decision adds is the
// difference of the two p50s, taken in interleaved rounds of sequential requests so a change in
// the machine's load hits both alike; requests/s of the two under the same load, in the same run.

const ROUNDS = 4;
const PER_ROUND = 500;

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) => fs.existsSync(p)) ?? null;

/** The example configuration on the bench's ports, plus a server that proxies alone. */
function nginxConfig(ports: { keywarden: number; upstream: number; forward: number; alone: number }): string {
  const example = fs
    .readFileSync(path.join(ROOT, 'examples', 'nginx', 'nginx.conf'), 'utf8')
    .replaceAll('127.0.0.1:4000', `127.0.0.1:${ports.keywarden}`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.upstream}`)
    .replaceAll('127.0.0.1:8000', `127.0.0.1:${ports.forward}`);
  const alone = `
    server {
        listen 127.0.0.1:${ports.alone};
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://agent;
        }
    }
}
`;
  return example.slice(0, example.lastIndexOf('}')) + alone;
}

async function startNginx(dir: string, port: number): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(NGINX!, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(!!s.end()));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null) throw new Error(`nginx exited: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function benchForward(opts: { duration: number }): Promise<{ rows: (string | number)[][] }> {
  if (!NGINX) return { rows: [['forward auth behind nginx', 'skipped: nginx is not installed (apt-get install -y nginx)']] };
  const db = await freshDatabase();
  const upstreamPort = await freePort();
  const upstream = await startProcess(['bench/bare-server.js'], { PORT: String(upstreamPort) }, /listening/);
  const api = await startApi(db.url, 'forward');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-nginx-'));
  const ports = { keywarden: api.port, upstream: upstreamPort, forward: await freePort(), alone: await freePort() };
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(ports));
  const nginx = await startNginx(dir, ports.forward);
  try {
    const agent = await api.gql(`mutation { createAgent(input: { name: "bench" }) { id } }`);
    const key = await api.gql(`mutation { createKey(input: { name: "fw", type: PRODUCTION, permission: EXECUTE, rateLimits: [{ window: MINUTE, limit: 100000000 }, { window: HOUR, limit: 1000000000 }] }) { secret } }`);
    const route = `/v1/agents/${agent.createAgent.id}/hello`;
    const targets = [
      { name: 'nginx proxying alone', url: `http://127.0.0.1:${ports.alone}${route}`, headers: undefined as Record<string, string> | undefined, samples: [] as number[] },
      { name: 'nginx + Keywarden forward auth', url: `http://127.0.0.1:${ports.forward}${route}`, headers: { authorization: `Bearer ${key.createKey.secret}` }, samples: [] as number[] },
    ];
    const body = '{}'; // the bare server parses a JSON body
    for (const t of targets) {
      const warm = await sequentialLatency({ url: t.url, method: 'POST', body, headers: t.headers, count: 300 });
      if (warm.samples.length === 0) throw new Error(`no answers from ${t.url}`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) t.samples.push(...(await sequentialLatency({ url: t.url, method: 'POST', body, headers: t.headers, count: PER_ROUND })).samples);
    }
    const [alone, forward] = targets.map((t) => percentiles(t.samples));
    const loads = [];
    for (const t of targets) loads.push(await load({ url: t.url, method: 'POST', body, headers: t.headers, duration: opts.duration, connections: 16 }));
    return {
      rows: [
        ['measure', ...targets.map((t) => t.name)],
        ['p50 / p99 µs, one connection, sequential', ...[alone, forward].map((l) => `${l.p50.toFixed(0)} / ${l.p99.toFixed(0)}`)],
        ["p50 µs added by Keywarden's decision", '', (forward.p50 - alone.p50).toFixed(0)],
        ['requests/s (16 connections)', ...loads.map((l) => l.rps.toFixed(0))],
        ['requests/s ratio to nginx alone', '1', (loads[1].rps / loads[0].rps).toFixed(2)],
        ['errors + non-2xx', ...loads.map((l) => l.errors + l.non2xx)],
      ],
    };
  } finally {
    await nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await api.stop();
    await upstream.stop();
    await db.drop();
  }
}

if (require.main === module) runMain('Forward auth behind nginx', () => benchForward({ duration: Number(process.env.BENCH_DURATION ?? 10) }));
