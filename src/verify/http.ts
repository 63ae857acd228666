import type { IncomingMessage, ServerResponse } from 'node:http';
import { PermissionQueryError, parsePermissionQuery, type PermissionQuery } from '../access/permission-query';
import { LRUCache } from 'lru-cache';
import { verifyKey, type VerifyDeps, type VerifyInput } from './verify';
import { clientIp, HttpError, sendJson, type TrustProxy } from '../infra/http';
import { validateBody, VerifyRequestSchema } from './schemas';

// The HTTP face of verification: body limits, JSON parsing and field checks (the zod schema that
// GET /openapi.json documents), then verifyKey.

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

/** A request body that must be one JSON object: 400 MALFORMED_JSON or BAD_REQUEST otherwise. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'MALFORMED_JSON', 'request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'BAD_REQUEST', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

const bad = (message: string) => new HttpError(400, 'BAD_REQUEST', message);

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
  const b = validateBody(VerifyRequestSchema, parseJsonObject(raw));
  return {
    key: b.key,
    agentId: b.agentId ?? undefined,
    workflowId: b.workflowId ?? undefined,
    permission: b.permission ?? 'READ_ONLY',
    ip: b.ip ?? callerIp,
    callerIp,
    cost: b.cost ?? 1,
    bytes: b.bytes ?? 0,
    permissionQuery: b.permissions === undefined || b.permissions === null ? undefined : cachedPermissionQuery(b.permissions),
  };
}

export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export async function handleVerify(deps: VerifyDeps & { trustProxy: TrustProxy }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req, MAX_VERIFY_BODY);
  const input = parseVerifyBody(raw, clientIp(req, deps.trustProxy));
  const outcome = await verifyKey(deps, input);
  if (outcome.blockedForMs) {
    // The error envelope of every endpoint, with the code also at the top (as verify answers have it).
    const error = { code: 'TOO_MANY_FAILED_ATTEMPTS', message: 'too many unknown keys from this address; try again later' };
    sendJson(res, 429, { ...error, error }, { 'retry-after': retryAfterSeconds(outcome.blockedForMs) });
    return;
  }
  sendJson(res, 200, outcome.result);
}
