import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { blockedReason, guardedLookup, type Resolve, type SsrfPolicy } from '../infra/ssrf';

// One delivery attempt on the wire. node:http never follows redirects, which is what we want:
// a 3xx is an answer, recorded and retried like any other failure. The connection's address
// comes from guardedLookup, checked against the SSRF policy on every attempt.

const EXCERPT_BYTES = 2048;
/** Read at most this much of a response before dropping the connection: receivers owe us nothing more. */
const MAX_READ_BYTES = 64 * 1024;

export interface PostResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  retryAfter: string | undefined;
}

// Keep-alive: retries and busy endpoints reuse connections; each was opened to a checked address.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }),
};

export interface PostOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: SsrfPolicy;
  resolve?: Resolve;
}

/** The parsed URL and its agent, or why it cannot be posted to. */
function webhookTarget(opts: PostOptions): { url: URL; agent: (typeof agents)[keyof typeof agents] } | string {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    return 'invalid URL';
  }
  const agent = agents[url.protocol as keyof typeof agents];
  if (!agent) return `unsupported scheme ${url.protocol}`;
  // An IP literal never goes through lookup: check it here.
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (net.isIP(literal)) {
    const why = blockedReason(literal, opts.policy);
    if (why) return `blocked: ${why}`;
  }
  return { url, agent };
}

/** Reads at most MAX_READ_BYTES of the answer, keeping an excerpt. */
function readAnswer(res: http.IncomingMessage, finish: (r: Omit<PostResult, 'durationMs'>) => void): void {
  const chunks: Buffer[] = [];
  let read = 0;
  const done = () => {
    const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
    finish({ statusCode: res.statusCode ?? null, error: null, responseExcerpt: excerpt || null, retryAfter: res.headers['retry-after'] });
  };
  res.on('data', (chunk: Buffer) => {
    if (read < EXCERPT_BYTES) chunks.push(chunk);
    read += chunk.length;
    if (read > MAX_READ_BYTES) {
      done();
      res.destroy();
    }
  });
  res.on('end', done);
  // The status line arrived; a body cut short still leaves a usable answer.
  res.on('error', done);
  res.on('aborted', done);
}

export function postWebhook(opts: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<PostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: elapsed() });
    };
    const failed = (error: string) => finish({ statusCode: null, error, responseExcerpt: null, retryAfter: undefined });

    const target = webhookTarget(opts);
    if (typeof target === 'string') return failed(target);
    const { url, agent } = target;

    timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent,
      lookup: guardedLookup(opts.policy, opts.resolve) as never,
      headers: { 'content-type': 'application/json', 'user-agent': 'Keywarden-Webhooks/1.0', 'content-length': String(Buffer.byteLength(opts.body)), ...opts.headers },
    });
    req.on('error', (err: NodeJS.ErrnoException) => failed(err.code === 'EBLOCKEDADDRESS' ? `blocked: ${err.message}` : err.message || String(err.code ?? err)));
    req.on('response', (res) => readAnswer(res, finish));
    req.end(opts.body);
  });
}
