import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAddress } from './ip';

// What Keywarden's own HTTP routes share (verify, leaked keys, gateway, GraphQL, metrics, the
// queue dashboard): the caller's address, and JSON answers and errors in one shape,
// {"error": {"code", "message"}}.

/** The caller's address: the socket's, or with TRUST_PROXY the first X-Forwarded-For entry. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for'];
    const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim();
    const forwarded = first ? parseAddress(first) : null;
    if (forwarded) return forwarded.toString();
  }
  const raw = req.socket.remoteAddress;
  if (!raw) return undefined;
  // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d; the rest is canonical.
  if (raw.startsWith('::ffff:') && raw.includes('.')) return raw.slice(7);
  return raw;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}
