import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A local webhook receiver on 127.0.0.1: records every request (headers, raw body) and answers
// as the test scripts it: a status, headers, a delay, or no answer at all (a hung endpoint).

export interface Received {
  n: number;
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Never answer (until the receiver closes). */
  hang?: boolean;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** How to answer the n-th request (1-based); the default is 200 "ok". */
  reply(fn: (r: Received) => Reply | undefined): void;
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Requests that carried this webhook-id. */
  withId(id: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  let script: (r: Received) => Reply | undefined = () => undefined;
  const hung = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const h = (name: string) => String(req.headers[name] ?? '');
      const r: Received = {
        n: received.length + 1,
        path: req.url ?? '/',
        id: h('webhook-id'),
        timestamp: h('webhook-timestamp'),
        signature: h('webhook-signature'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(r);
      const reply = script(r) ?? {};
      if (reply.hang) {
        hung.add(res);
        return;
      }
      const send = () => {
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
        res.end(reply.body ?? 'ok');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    reply(fn) {
      script = fn;
    },
    withId: (id) => received.filter((r) => r.id === id),
    waitFor(predicate, timeoutMs = 15_000, what = 'the expected requests') {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const tick = () => {
          if (predicate(received)) return resolve();
          if (Date.now() - started > timeoutMs) return reject(new Error(`receiver timed out waiting for ${what}; got ${received.length} request(s): ${received.map((r) => r.body.slice(0, 80)).join(' | ')}`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
