import { Agent, request, type Dispatcher } from 'undici';
import { KeywardenTimeoutError, KeywardenUnavailableError } from './errors.js';

// One JSON round trip to Keywarden over a keep-alive undici Agent, with a deadline that covers
// the whole exchange (connect, headers and body). Transport failures become the SDK's errors;
// statuses are left to the caller.

export interface TransportOptions {
  /** Simultaneous connections kept to Keywarden (default 64). */
  connections?: number;
  /** How long an idle connection is kept open for reuse (default 30 s; the server's own hint wins when shorter). */
  keepAliveTimeoutMs?: number;
  /** Your own undici dispatcher (proxy, TLS settings, mocking); the SDK then neither creates nor closes one. */
  dispatcher?: Dispatcher;
}

export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body, or undefined when it was empty or not JSON. */
  body: unknown;
}

export class Transport {
  private readonly dispatcher: Dispatcher;
  private readonly owned: boolean;

  constructor(opts: TransportOptions) {
    this.owned = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? new Agent({ connections: opts.connections ?? 64, keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000, keepAliveMaxTimeout: opts.keepAliveTimeoutMs ?? 30_000 });
  }

  async postJson(url: string, payload: unknown, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<JsonAnswer> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify(payload),
        dispatcher: this.dispatcher,
        signal: controller.signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body: parseJson(text) };
    } catch (err) {
      if (timedOut) throw new KeywardenTimeoutError(timeoutMs, url);
      if (signal?.aborted) throw err;
      throw new KeywardenUnavailableError(`Keywarden could not be reached at ${url}: ${describe(err)}`, null, { cause: err });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    if (this.owned) await this.dispatcher.close();
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code ?? e?.message ?? String(err);
}

export function headerValue(headers: JsonAnswer['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
