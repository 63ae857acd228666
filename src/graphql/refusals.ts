import { GraphQLError } from 'graphql';
import { KeywardenError } from '../infra/errors';
import { logger } from '../infra/logger';

// Refusals a client caused are answered with a clear code and logged at info, without the query
// text; only what Keywarden did not expect is an error. Besides Keywarden's own errors this maps
// the libraries' ways of saying "bad input" or "someone else changed it first": a cursor that was
// not issued here (Pothos), a value PostgreSQL cannot take (a malformed id), a unique or
// write-conflict race (two rotateKey calls at once).

const EXPECTED_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'EXCEEDS_PARENT',
  'QUERY_TOO_COMPLEX',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'RATE_LIMITED',
  'UNAVAILABLE',
]);

/** Prisma codes: P2002 unique, P2034 write conflict or deadlock -> CONFLICT; P2023/P2007 malformed value -> BAD_USER_INPUT. */
const PRISMA_CODES: Record<string, { code: string; message: string }> = {
  P2002: { code: 'CONFLICT', message: 'a concurrent change got there first; read again and retry' },
  P2034: { code: 'CONFLICT', message: 'a concurrent change got there first; read again and retry' },
  P2023: { code: 'BAD_USER_INPUT', message: 'an id or value in the request is malformed' },
  P2007: { code: 'BAD_USER_INPUT', message: 'an id or value in the request is malformed' },
};

function refusal(original: unknown): { code: string; message: string; field?: string } | null {
  if (original instanceof KeywardenError) return { code: original.code, message: original.message, field: original.field };
  const e = original as { name?: string; code?: unknown; message?: string };
  if (e?.name === 'PothosValidationError') return { code: 'BAD_USER_INPUT', message: e.message ?? 'invalid input' };
  if (typeof e?.code === 'string' && e.name?.startsWith('PrismaClient') && PRISMA_CODES[e.code]) return PRISMA_CODES[e.code];
  return null;
}

/** The client-facing GraphQL error for a refusal, or null when the error is unexpected. */
export function refusalError(error: unknown): GraphQLError | null {
  const gqlError = error instanceof GraphQLError ? error : undefined;
  const r = refusal(gqlError ? gqlError.originalError : error);
  if (!r) return null;
  return new GraphQLError(r.message, { nodes: gqlError?.nodes, path: gqlError?.path, extensions: { code: r.code, ...(r.field ? { field: r.field } : {}) } });
}

/** yoga's error log: expected refusals at info (code and message only), anything else as an error. */
export function logYogaError(...args: unknown[]): void {
  const err = args.find((a) => a instanceof Error) as Error | undefined;
  const code = err instanceof GraphQLError ? String(err.extensions?.code ?? '') : '';
  if (err && (refusal(err instanceof GraphQLError ? err.originalError : err) || EXPECTED_CODES.has(code))) {
    logger.info({ code: code || refusal(err instanceof GraphQLError ? err.originalError : err)?.code, message: err.message.split('\n')[0] }, 'GraphQL request refused');
    return;
  }
  logger.error(args.map(String).join(' '));
}

/** True when a string anywhere in `value` (keys included) holds a NUL character. */
export function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (typeof value !== 'object' || value === null || depth > 100) return false;
  for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || holdsNul(v, depth + 1)) return true;
  return false;
}
