import type { IncomingMessage, ServerResponse } from 'node:http';
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
