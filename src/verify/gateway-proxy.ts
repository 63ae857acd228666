import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { upstreamLookup } from '../agents/upstream-policy';
import { logger } from '../infra/logger';
import { sendGatewayError } from './gateway-answers';

// The gateway's proxy step: one request to the upstream, its answer streamed back to the client.
// Upstream connections are kept alive and reused (a TCP handshake per request would cost more
// than everything else the gateway does); undici's client costs a fraction of node:http's per
// request, which is most of what the gateway adds to a call.

// Every connection's address passes the upstream address policy (names through the lookup, IP
// literals in the gateway before dispatch), so a name rebound to a private address gets nowhere.
const upstreamAgent = new Agent({ connections: 512, keepAliveTimeout: 30_000, connect: { lookup: upstreamLookup as never } });

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'content-length', 'expect']);

/** The end-to-end headers of `headers` (hop-by-hop ones, the key and the length are not passed on), added to `into`. */
export function endToEndHeaders(headers: Record<string, string | string[] | undefined>, into: Record<string, string | string[]>): Record<string, string | string[]> {
  for (const name in headers) {
    const value = headers[name];
    // HTTP/2 pseudo-headers (:method, :path, ...) describe this hop only.
    if (value !== undefined && !HOP_BY_HOP.has(name) && name[0] !== ':') into[name] = value;
  }
  return into;
}

class PayloadTooLargeError extends Error {
  constructor() {
    super('PAYLOAD_TOO_LARGE');
  }
}

/** A chunked request body, counted as it streams and cut off once it passes `max` bytes. */
export async function* countedBody(req: IncomingMessage, max: number, count: (n: number) => number): AsyncGenerator<Buffer> {
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (count(chunk.length) > max) throw new PayloadTooLargeError();
    yield chunk;
  }
}

function upstreamFailure(err: Error): 'UPSTREAM_TIMEOUT' | 'PAYLOAD_TOO_LARGE' | 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_BLOCKED' {
  const code = (err as { code?: string }).code;
  if (code === 'EBLOCKEDADDRESS' || (err as { cause?: { code?: string } }).cause?.code === 'EBLOCKEDADDRESS') {
    logger.info({ err: err.message }, 'gateway refused an upstream address');
    return 'UPSTREAM_BLOCKED';
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'UPSTREAM_TIMEOUT';
  if (err instanceof PayloadTooLargeError || (err as { cause?: unknown }).cause instanceof PayloadTooLargeError) return 'PAYLOAD_TOO_LARGE';
  return 'UPSTREAM_UNAVAILABLE';
}

/** How an exchange ended: the upstream's status class ('2xx' ...; 'error' without an answer) and the response bytes sent. */
export type ExchangeEnd = (statusClass: string, responseBytes: number) => void;

/**
 * Sends `request` upstream and streams the answer to `res` (with `extraHeaders` added). `onEnd`
 * is told once however the exchange ends: finished, upstream error or timeout, client gone.
 */
export function proxyToUpstream(request: Dispatcher.DispatchOptions, res: ServerResponse, extraHeaders: Record<string, string>, onEnd: ExchangeEnd): void {
  upstreamAgent.dispatch(request, new Exchange(res, extraHeaders, onEnd));
}

class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private clientGone = false;
  private ended = false;
  private statusClass = 'error';
  private responseBytes = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly extraHeaders: Record<string, string>,
    private readonly onEnd: ExchangeEnd,
  ) {
    // A client that goes away mid-request: stop the upstream call and end the exchange.
    res.on('close', () => {
      if (res.writableFinished) return;
      this.clientGone = true;
      this.controller?.abort(new Error('client closed the connection'));
      this.end();
    });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this.statusClass, this.responseBytes);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx: informational, the real answer follows
    const out = endToEndHeaders(headers, { ...this.extraHeaders });
    if (headers['content-length'] !== undefined) out['content-length'] = headers['content-length'];
    this.statusClass = `${String(statusCode)[0]}xx`;
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.responseBytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.end();
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.end();
    if (this.clientGone) return;
    if (this.res.headersSent) {
      logger.debug({ err: err.message }, 'gateway response stream ended early');
      this.res.destroy();
      return;
    }
    sendGatewayError(this.res, upstreamFailure(err), this.extraHeaders);
  }
}
