import type { IncomingMessage, ServerResponse } from 'node:http';
import { PERMISSION_ORDER } from '../access/permission';
import { parseIp } from '../access/ip';
import { PermissionQueryError, parsePermissionQuery, type PermissionQuery } from '../access/permission-query';
import { LRUCache } from 'lru-cache';
import type { Permission } from '../generated/prisma/enums';
import { verifyKey, type VerifyDeps, type VerifyInput } from './verify';
import { clientIp, HttpError, sendJson, type TrustProxy } from '../infra/http';

// The HTTP face of verification: body limits, JSON parsing and field checks, then verifyKey.

const MAX_VERIFY_BODY = 16 * 1024;

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that leaves before its body is complete.
    req.on('close', () => {
      if (!req.complete) reject(new HttpError(400, 'BAD_REQUEST', 'the client closed the connection before its body was complete'));
    });
  });
}

const bad = (message: string) => new HttpError(400, 'BAD_REQUEST', message);

function optionalId(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 100) throw bad(`${field}: must be a non-empty string id`);
  return v;
}

function nonNegative(body: Record<string, unknown>, field: string, fallback: number): number {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || !Number.isInteger(v) || v > Number.MAX_SAFE_INTEGER) {
    throw bad(`${field}: must be a whole number of at least 0`);
  }
  return v;
}

/** A request body that must be one JSON object: 400 MALFORMED_JSON or BAD_REQUEST otherwise. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'MALFORMED_JSON', 'request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('request body must be a JSON object');
  return body as Record<string, unknown>;
}

// Callers send the same few queries over and over: each distinct string is parsed once (a
// malformed one too, so a repeated bad query costs no parse either).
const permissionQueries = new LRUCache<string, PermissionQuery | { malformed: string }>({ max: 1_000 });

/** "permissions" of verify (and the faces that take it): 400 naming the query when it is malformed. */
export function cachedPermissionQuery(value: unknown): PermissionQuery {
  if (typeof value !== 'string') throw bad('permissions: must be a string, a query such as "billing.read AND (agents.run OR agents.*)"');
  let q = permissionQueries.get(value);
  if (!q) {
    try {
      q = parsePermissionQuery(value);
    } catch (err) {
      if (!(err instanceof PermissionQueryError)) throw err;
      q = { malformed: err.message };
    }
    permissionQueries.set(value, q);
  }
  if ('malformed' in q) throw bad(`permissions: the query ${JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)} is malformed: it ${q.malformed}`);
  return q;
}

function parseVerifyBody(raw: Buffer, callerIp: string | undefined): VerifyInput {
  const b = parseJsonObject(raw);
  if (typeof b.key !== 'string' || b.key.length === 0) throw bad('key: required, the API key to verify');
  let permission: Permission = 'READ_ONLY';
  if (b.permission !== undefined && b.permission !== null) {
    if (!PERMISSION_ORDER.includes(b.permission as Permission)) throw bad(`permission: must be one of ${PERMISSION_ORDER.join(', ')}`);
    permission = b.permission as Permission;
  }
  let ip = callerIp;
  if (b.ip !== undefined && b.ip !== null) {
    const parsed = typeof b.ip === 'string' ? parseIp(b.ip) : null;
    if (!parsed) throw bad('ip: must be an IPv4 or IPv6 address');
    ip = parsed.toString();
  }
  const agentId = optionalId(b, 'agentId');
  const workflowId = optionalId(b, 'workflowId');
  if (agentId && workflowId) throw bad('give agentId or workflowId, not both');
  const permissionQuery = b.permissions === undefined || b.permissions === null ? undefined : cachedPermissionQuery(b.permissions);
  return { key: b.key, agentId, workflowId, permission, permissionQuery, ip, callerIp, cost: nonNegative(b, 'cost', 1), bytes: nonNegative(b, 'bytes', 0) };
}

export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export async function handleVerify(deps: VerifyDeps & { trustProxy: TrustProxy }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req, MAX_VERIFY_BODY);
  const input = parseVerifyBody(raw, clientIp(req, deps.trustProxy));
  const outcome = await verifyKey(deps, input);
  if (outcome.blockedForMs) {
    sendJson(res, 429, { code: 'TOO_MANY_FAILED_ATTEMPTS', message: 'too many unknown keys from this address; try again later' }, { 'retry-after': retryAfterSeconds(outcome.blockedForMs) });
    return;
  }
  sendJson(res, 200, outcome.result);
}
