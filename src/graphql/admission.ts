import type { IncomingMessage } from 'node:http';
import { GraphQLError, Lexer, NoSchemaIntrospectionCustomRule, parse, Source, TokenKind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type Redis from 'ioredis';
import { clientIp, type TrustProxy } from '../infra/http';
import { jsonDepth } from '../infra/json';
import { logger } from '../infra/logger';
import { graphiqlPolicy } from './graphiql';
import { holdsNul } from './refusals';
import { adminRequestsKey } from '../infra/redis-keys';
import { authenticate, type AuthResult, type KeyUseEffects } from '../keys/authenticate';
import type { KeyCache } from '../keys/cache';
import { FixedWindowCounter } from '../limits';

// What an admin request must pass before Keywarden spends anything on it, in this order:
// the key (checked from the header alone: nothing of the body is read or parsed for a caller
// without a usable key), the caller's request budget, a slot among the admin requests in flight
// (so a flood of admin requests queues instead of starving verification of the event loop and
// the database pool), the body size (yoga's own limit) and the token count of the document
// (graphql's parser stops counting at the limit).

export interface AdmissionOptions {
  /** Largest request body read, in bytes. */
  maxBodyBytes: number;
  /** Largest GraphQL document parsed, in lexical tokens. */
  maxTokens: number;
  /** Admin requests executing at once in this process; more wait in line. */
  maxConcurrent: number;
  /** Admin requests waiting for a slot; beyond it the request is answered 503 at once. */
  maxQueued: number;
  /** Admin requests per minute per calling key, and per signed-in person across sessions (0: unlimited). */
  perKeyPerMinute: number;
  /** Introspection (and GraphiQL) allowed. */
  introspection: boolean;
}

export const DEFAULT_ADMISSION: AdmissionOptions = { maxBodyBytes: 100_000, maxTokens: 5_000, maxConcurrent: 8, maxQueued: 200, perKeyPerMinute: 600, introspection: true };

export interface AdmissionDeps {
  cache: KeyCache;
  /** Who is calling (keys, or people's sessions: credentials.ts); default: the Authorization header's key. */
  authenticate?: (request: Request, ip: string | null) => Promise<AuthResult>;
  trustProxy: TrustProxy;
  redis?: Redis;
  prefix: string;
  options: AdmissionOptions;
  /** Uses of ROTATING/EMERGENCY keys and failures of known keys, recorded as verification records them. */
  keyUses?: KeyUseEffects;
}

type ServerContext = { req?: IncomingMessage };

/** Admin requests in flight and waiting, per process. */
export class AdmissionGate {
  active = 0;
  peak = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueued: number,
  ) {}

  /** Resolves with a release function once a slot is free; null when the line is full. */
  acquire(): Promise<(() => void) | null> | (() => void) | null {
    if (this.active < this.maxConcurrent) return this.take();
    if (this.waiting.length >= this.maxQueued) return null;
    return new Promise((resolve) => this.waiting.push(() => resolve(this.take())));
  }

  private take(): () => void {
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

const authByRequest = new WeakMap<Request, AuthResult>();
const releaseByRequest = new WeakMap<Request, () => void>();

/** The calling key of a request the admission plugin let through. */
export function admittedAuth(request: Request): AuthResult {
  return authByRequest.get(request) ?? { ok: false, reason: 'missing Authorization header; send "Authorization: Bearer <key>"' };
}

function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/** True when the document has more than `max` lexical tokens; lexing stops at max + 1. */
export function overTokenBudget(query: string, max: number): boolean {
  const lexer = new Lexer(new Source(query));
  try {
    for (let n = 0; n <= max; n++) if (lexer.advance().kind === TokenKind.EOF) return false;
  } catch {
    return false; // a syntax error: the parser reports it
  }
  return true;
}

/** Variables nested deeper than this are refused before anything runs. */
const MAX_VARIABLE_DEPTH = 32;

/** Why the request's text or variables cannot be taken (a NUL character, absurd nesting), or null. */
function unacceptableInput(query: unknown, variables: unknown): string | null {
  if (typeof query === 'string' && (query.includes('\u0000') || /\\u0000|\\u\{0+\}/i.test(query))) return 'the query holds a NUL character (\\u0000), which no field accepts';
  if (holdsNul(variables)) return 'a variable holds a NUL character (\\u0000), which no field accepts';
  if (jsonDepth(variables, MAX_VARIABLE_DEPTH) > MAX_VARIABLE_DEPTH) return `variables must not nest more than ${MAX_VARIABLE_DEPTH} levels deep`;
  return null;
}

const tooManyTokens = (max: number) => new GraphQLError(`query too complex: the document has more than ${max} tokens`, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });

export function admissionPlugin(deps: AdmissionDeps, gate: AdmissionGate): Plugin<Record<string, unknown>, ServerContext> {
  const { options } = deps;
  const perKey = deps.redis && options.perKeyPerMinute > 0 ? new FixedWindowCounter(deps.redis, 60_000) : null;
  return {
    async onRequestParse({ request, serverContext, endResponse }) {
      const ip = serverContext.req ? (clientIp(serverContext.req, deps.trustProxy) ?? null) : null;
      const auth = deps.authenticate ? await deps.authenticate(request, ip) : await authenticate(deps.cache, request.headers.get('authorization'), ip, deps.keyUses);
      if (!auth.ok && auth.code === 'FORBIDDEN') return endResponse(errorResponse(403, 'FORBIDDEN', auth.reason));
      if (!auth.ok) return endResponse(errorResponse(401, 'UNAUTHENTICATED', auth.reason, { 'www-authenticate': 'Bearer' }));
      // One budget per key, and one per person across all their sessions.
      const caller = auth.actor.keyId ?? `operator:${auth.actor.operatorId}`;
      const retryAfter = perKey ? await overBudget(perKey, deps.prefix, caller, options.perKeyPerMinute) : 0;
      const who = auth.actor.keyId ? 'key' : 'person';
      if (retryAfter > 0) return endResponse(errorResponse(429, 'RATE_LIMITED', `too many admin requests for this ${who}: at most ${options.perKeyPerMinute} a minute`, { 'retry-after': String(retryAfter) }));
      const release = await gate.acquire();
      if (!release) return endResponse(errorResponse(503, 'UNAVAILABLE', 'too many admin requests in flight; try again shortly', { 'retry-after': '1' }));
      authByRequest.set(request, auth);
      releaseByRequest.set(request, release);
    },
    onResponse({ request, response }) {
      releaseByRequest.get(request)?.();
      // The GraphiQL page (rendered from the installed package) carries its policy.
      const policy = response.headers.get('content-type')?.startsWith('text/html') ? graphiqlPolicy() : undefined;
      if (policy) {
        response.headers.set('content-security-policy', policy);
        response.headers.set('x-content-type-options', 'nosniff');
        response.headers.set('referrer-policy', 'no-referrer');
      }
    },
    onParams({ params, setResult }) {
      if (typeof params.query === 'string' && overTokenBudget(params.query, options.maxTokens)) return setResult({ errors: [tooManyTokens(options.maxTokens)] });
      const bad = unacceptableInput(params.query, params.variables);
      if (bad) setResult({ errors: [new GraphQLError(bad, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } })] });
    },
    onParse({ setParseFn }) {
      // The parser's own budget too, for documents that reach it another way.
      setParseFn((source, opts) => parse(source, { ...opts, maxTokens: options.maxTokens }));
    },
    onValidate({ addValidationRule }) {
      if (!options.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/** The admission gate of a GraphQL handler (tests read its peak). */
export const admissionGates = new WeakMap<object, AdmissionGate>();

/** Seconds until the key may send another admin request, or 0. Redis failing lets the request through. */
async function overBudget(counter: FixedWindowCounter, prefix: string, keyId: string, perMinute: number): Promise<number> {
  try {
    const { count, resetInMs } = await counter.hit(adminRequestsKey(prefix, keyId));
    return count > perMinute ? Math.max(1, Math.ceil(resetInMs / 1000)) : 0;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not count an admin request; letting it through');
    return 0;
  }
}
