import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { parseAddress } from './ip';

// What Keywarden's own HTTP routes share (verify, leaked keys, gateway, GraphQL, metrics, the
// queue dashboard): the caller's address, and JSON answers and errors in one shape,
// {"error": {"code", "message"}}.

/**
 * TRUST_PROXY: false (the socket's address), true (every hop is trusted: the left-most
 * X-Forwarded-For address), a number of proxy hops in front of Keywarden, or the proxies'
 * addresses and CIDR ranges (the client is the right-most address that is not one of them).
 */
export type TrustProxy = boolean | number | readonly string[];

type Trust = (addr: string, hop: number) => boolean;
const trustAll: Trust = () => true;
const byHops = new Map<number, Trust>();
const byAddresses = new WeakMap<readonly string[], Trust>();

function trustOf(setting: TrustProxy): Trust | null {
  if (setting === true) return trustAll;
  if (setting === false || setting === 0) return null;
  if (typeof setting === 'number') {
    let trust = byHops.get(setting);
    if (!trust) {
      trust = (_addr, hop) => hop < setting;
      byHops.set(setting, trust);
    }
    return trust;
  }
  let trust = byAddresses.get(setting);
  if (!trust) {
    trust = proxyaddr.compile([...setting]);
    byAddresses.set(setting, trust);
  }
  return trust;
}

/** Whether TRUST_PROXY reads X-Forwarded-For at all. */
export function trustsProxies(setting: TrustProxy): boolean {
  return trustOf(setting) !== null;
}

/** The socket's address (Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d). */
export function socketIp(req: IncomingMessage): string | undefined {
  const raw = req.socket.remoteAddress;
  if (!raw) return undefined;
  return parseAddress(raw)?.toString() ?? raw;
}

/**
 * The caller's address: the socket's, or as TRUST_PROXY allows, the X-Forwarded-For entry the
 * trusted proxies vouch for (proxy-addr walks the chain from the socket outwards and stops at the
 * first hop it does not trust). An entry that is not an address counts as the nearest hop that is.
 */
export function clientIp(req: IncomingMessage, trustProxy: TrustProxy): string | undefined {
  const forwarded = req.headers['x-forwarded-for'];
  return clientIpFrom(req.socket.remoteAddress, Array.isArray(forwarded) ? forwarded.join(',') : forwarded, trustProxy);
}

/**
 * The same for a request that reached Keywarden through another protocol (Envoy's ext_authz
 * reports the peer's address and the original headers): the peer stands for the socket.
 */
export function clientIpFrom(peer: string | undefined, forwardedFor: string | undefined, trustProxy: TrustProxy): string | undefined {
  const own = peer ? (parseAddress(peer)?.toString() ?? peer) : undefined;
  const trust = trustOf(trustProxy);
  if (!trust || !peer) return own;
  const req = { socket: { remoteAddress: peer }, connection: { remoteAddress: peer }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} };
  const chain = proxyaddr.all(req as unknown as IncomingMessage, trust);
  for (let i = chain.length - 1; i > 0; i--) {
    const addr = parseAddress(chain[i].trim());
    if (addr) return addr.toString();
  }
  return own;
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
