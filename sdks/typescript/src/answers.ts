import { retryAfterFor } from './denial.js';
import { KeywardenHttpError, KeywardenInputError, KeywardenUnavailableError, KeywardenUnsupportedError } from './errors.js';
import { headerValue, type JsonAnswer } from './transport.js';
import { VERIFY_CODES, type Permission, type RateLimitState, type VerifiedResult, type VerifyCode, type VerifyRequest } from './types.js';

// Pure reading and checking: what a call may send, and what Keywarden's answers mean. No I/O,
// so every rule here is tested with plain values.

const PERMISSIONS: readonly Permission[] = ['READ_ONLY', 'EXECUTE', 'MANAGE', 'FULL_ACCESS'];
const CODES = new Set<string>(VERIFY_CODES);

function optionalString(input: Record<string, unknown>, field: string): void {
  const v = input[field];
  if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new KeywardenInputError(field, 'must be a non-empty string');
}

function optionalCount(input: Record<string, unknown>, field: string): void {
  const v = input[field];
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) throw new KeywardenInputError(field, 'must be a whole number of at least 0');
}

/** The JSON body of POST /v1/keys/verify, or a KeywardenInputError naming the field at fault. */
export function verifyPayload(input: VerifyRequest): Record<string, unknown> {
  if (typeof input !== 'object' || input === null) throw new KeywardenInputError('input', 'must be an object with at least `key`');
  const raw = input as unknown as Record<string, unknown>;
  if (typeof raw.key !== 'string' || raw.key.length === 0) throw new KeywardenInputError('key', 'required, the API key to verify');
  for (const f of ['agentId', 'workflowId', 'permissions', 'ip']) optionalString(raw, f);
  for (const f of ['cost', 'bytes']) optionalCount(raw, f);
  if (raw.permission !== undefined && !PERMISSIONS.includes(raw.permission as Permission)) {
    throw new KeywardenInputError('permission', `must be one of ${PERMISSIONS.join(', ')}`);
  }
  if (raw.agentId !== undefined && raw.workflowId !== undefined) throw new KeywardenInputError('agentId', 'give agentId or workflowId, not both');
  const payload: Record<string, unknown> = {};
  for (const f of ['key', 'agentId', 'workflowId', 'permission', 'permissions', 'ip', 'cost', 'bytes']) {
    if (raw[f] !== undefined) payload[f] = raw[f];
  }
  return payload;
}

/** Seconds from a Retry-After header (delta-seconds form), or null. */
export function retryAfterHeader(answer: JsonAnswer): number | null {
  const v = Number(headerValue(answer.headers, 'retry-after'));
  return Number.isFinite(v) && v >= 0 ? v : null;
}

/** A 4xx answer as an error carrying its envelope's code and message. */
export function httpError(answer: JsonAnswer): KeywardenHttpError {
  const b = answer.body as { error?: { code?: unknown; message?: unknown }; code?: unknown; message?: unknown } | undefined;
  const inner = b?.error ?? b;
  const code = typeof inner?.code === 'string' ? inner.code : `HTTP_${answer.status}`;
  const message = typeof inner?.message === 'string' ? inner.message : 'request failed';
  return new KeywardenHttpError(answer.status, code, message, retryAfterHeader(answer));
}

/** A 5xx or an answer that is not Keywarden's: it cannot decide now (the fail mode applies). */
export function unavailable(answer: JsonAnswer, what: string): KeywardenUnavailableError {
  const e = httpError(answer);
  return new KeywardenUnavailableError(`Keywarden answered ${answer.status} ${e.code} to ${what}: ${e.message}`, answer.status);
}

function isResultBody(b: unknown): b is Record<string, unknown> & { code: VerifyCode; valid: boolean } {
  const r = b as Record<string, unknown> | undefined;
  return typeof r === 'object' && r !== null && typeof r.valid === 'boolean' && typeof r.code === 'string' && CODES.has(r.code);
}

/** Keywarden's answer to a verification as a typed result (or the error it stands for). */
export function readVerifyAnswer(answer: JsonAnswer, payload: Record<string, unknown>, nowMs = Date.now()): VerifiedResult {
  const b = answer.body as Record<string, unknown> | undefined;
  if (answer.status === 429 && b?.code === 'TOO_MANY_FAILED_ATTEMPTS') {
    return { ...emptyFields(), verified: true, valid: false, code: 'TOO_MANY_FAILED_ATTEMPTS', retryAfter: retryAfterHeader(answer) ?? 1 };
  }
  if (answer.status >= 500) throw unavailable(answer, 'a verification');
  if (answer.status !== 200) throw httpError(answer);
  if (!isResultBody(b)) throw new KeywardenUnavailableError('Keywarden answered 200 with something that is not a verification result', 200);
  const ratelimits = Array.isArray(b.ratelimits) ? (b.ratelimits as RateLimitState[]) : [];
  const quota = (b.quota as VerifiedResult['quota']) ?? null;
  const result: VerifiedResult = {
    ...emptyFields(),
    ...(b as object),
    verified: true,
    valid: b.valid,
    code: b.code,
    ratelimits,
    quota,
    retryAfter: retryAfterFor(b.code, ratelimits, quota, nowMs),
  };
  // A server older than permission strings ignores `permissions` and would let every valid key through.
  if (payload.permissions !== undefined && result.valid && !Array.isArray(b.permissions)) {
    throw new KeywardenUnsupportedError('Keywarden did not evaluate the permission query (`permissions`): the server predates permission queries; upgrade it or verify with `permission`');
  }
  return result;
}

function emptyFields() {
  return { keyId: null, accountId: null, permission: null, scope: null, expiresAt: null, ratelimits: [], quota: null, retryAfter: null };
}
