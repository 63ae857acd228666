import { httpError, readVerifyAnswer, unavailable, verifyPayload } from './answers.js';
import { type KeywardenError, KeywardenGraphQLError, KeywardenInputError, KeywardenTimeoutError, KeywardenUnavailableError, type GraphQLErrorEntry } from './errors.js';
import { Transport, type TransportOptions } from './transport.js';
import type { FailMode, UnverifiedResult, VerifyRequest, VerifyResult } from './types.js';

export interface KeywardenClientOptions extends TransportOptions {
  /** Where Keywarden listens, e.g. `http://127.0.0.1:4000` (a path prefix is kept). */
  baseUrl: string;
  /** Deadline of one verify or leaked-key call, connection included (default 1000 ms). */
  timeoutMs?: number;
  /** Deadline of one `graphql()` call: admin requests do more work (default 10 000 ms). */
  adminTimeoutMs?: number;
  /**
   * What `verify` does when Keywarden cannot answer (timeout, unreachable, 5xx): `closed`
   * (default) throws KeywardenTimeoutError / KeywardenUnavailableError; `open` returns an
   * UnverifiedResult (`verified: false`) so the caller may let the request through.
   */
  failMode?: FailMode;
  /** Default admin key for `graphql()` (a call's own `key` wins). */
  adminKey?: string;
  /** Extra headers on every request (e.g. for a proxy in front of Keywarden). */
  headers?: Record<string, string>;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface VerifyOptions extends CallOptions {
  failMode?: FailMode;
}

export interface GraphQLOptions extends CallOptions {
  /** The admin key sent as `Authorization: Bearer` (default: the client's adminKey). */
  key?: string;
}

function positive(field: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new KeywardenInputError(field, 'must be a number above 0');
  return v;
}

function checkedBaseUrl(raw: unknown): string {
  let url: URL | null = null;
  try {
    url = typeof raw === 'string' ? new URL(raw) : null;
  } catch {}
  if (!url || !['http:', 'https:'].includes(url.protocol)) throw new KeywardenInputError('baseUrl', 'must be an http or https URL, e.g. http://127.0.0.1:4000');
  return url.toString().replace(/\/+$/, '');
}

/** A Keywarden client: verification (data plane), leaked-key reports and the GraphQL admin API. */
export class KeywardenClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly adminTimeoutMs: number;
  readonly failMode: FailMode;
  private readonly transport: Transport;
  private readonly adminKey?: string;
  private readonly headers: Record<string, string>;

  constructor(options: KeywardenClientOptions) {
    if (typeof options !== 'object' || options === null) throw new KeywardenInputError('options', 'must be an object with at least baseUrl');
    this.baseUrl = checkedBaseUrl(options.baseUrl);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs, 1000);
    this.adminTimeoutMs = positive('adminTimeoutMs', options.adminTimeoutMs, 10_000);
    if (options.failMode !== undefined && options.failMode !== 'open' && options.failMode !== 'closed') throw new KeywardenInputError('failMode', "must be 'open' or 'closed'");
    this.failMode = options.failMode ?? 'closed';
    this.adminKey = options.adminKey;
    this.headers = { ...options.headers };
    this.transport = new Transport(options);
  }

  /**
   * POST /v1/keys/verify. Resolves with Keywarden's decision (valid or not; a denial is a
   * result, not an error); rejects with KeywardenInputError for a bad call, KeywardenHttpError
   * for a 4xx answer, and (fail mode `closed`) KeywardenTimeoutError / KeywardenUnavailableError.
   */
  async verify(input: VerifyRequest, options: VerifyOptions = {}): Promise<VerifyResult> {
    const payload = verifyPayload(input);
    const failMode = options.failMode ?? this.failMode;
    try {
      // The client's address also travels as X-Forwarded-For: a Keywarden that lists this service
      // in TRUST_PROXY then counts failed keys per client rather than against this service.
      const headers = typeof payload.ip === 'string' ? { ...this.headers, 'x-forwarded-for': payload.ip } : this.headers;
      const answer = await this.transport.postJson(`${this.baseUrl}/v1/keys/verify`, payload, headers, positive('timeoutMs', options.timeoutMs, this.timeoutMs), options.signal);
      return readVerifyAnswer(answer, payload);
    } catch (err) {
      if (failMode === 'open' && isOutage(err)) return unverified(err);
      throw err;
    }
  }

  /** POST /v1/keys/leaked: revokes whichever of these secrets are Keywarden keys; the answer never says which. */
  async reportLeaked(keys: string[], details: { source?: string; url?: string } = {}, options: CallOptions = {}): Promise<{ received: number }> {
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k.length === 0)) {
      throw new KeywardenInputError('keys', 'must be a non-empty array of non-empty strings');
    }
    const payload = { keys, ...(details.source !== undefined ? { source: details.source } : {}), ...(details.url !== undefined ? { url: details.url } : {}) };
    const answer = await this.transport.postJson(`${this.baseUrl}/v1/keys/leaked`, payload, this.headers, positive('timeoutMs', options.timeoutMs, this.timeoutMs), options.signal);
    if (answer.status >= 500) throw unavailable(answer, 'a leaked-key report');
    if (answer.status !== 202) throw httpError(answer);
    return { received: Number((answer.body as { received?: unknown })?.received ?? keys.length) };
  }

  /**
   * A request to the GraphQL admin API (POST /graphql, `Authorization: Bearer <admin key>`).
   * Resolves with `data`; rejects with KeywardenGraphQLError (carrying `extensions.code`) when
   * the answer holds errors.
   */
  async graphql<TData = Record<string, unknown>, TVariables extends Record<string, unknown> = Record<string, unknown>>(query: string, variables?: TVariables, options: GraphQLOptions = {}): Promise<TData> {
    if (typeof query !== 'string' || query.trim().length === 0) throw new KeywardenInputError('query', 'must be a GraphQL document');
    const key = options.key ?? this.adminKey;
    if (!key) throw new KeywardenInputError('key', 'an admin key is needed: pass { key } or the client option adminKey');
    const headers = { ...this.headers, authorization: `Bearer ${key}` };
    const answer = await this.transport.postJson(`${this.baseUrl}/graphql`, { query, variables: variables ?? {} }, headers, positive('timeoutMs', options.timeoutMs, this.adminTimeoutMs), options.signal);
    const body = answer.body as { data?: TData | null; errors?: GraphQLErrorEntry[] } | undefined;
    if (Array.isArray(body?.errors) && body.errors.length > 0) throw new KeywardenGraphQLError(body.errors, body.data ?? null, answer.status);
    if (answer.status >= 500) throw unavailable(answer, 'a GraphQL request');
    if (answer.status !== 200 || !body || body.data === undefined || body.data === null) throw httpError(answer);
    return body.data;
  }

  /** Closes the keep-alive connections (the client cannot be used after). */
  close(): Promise<void> {
    return this.transport.close();
  }
}

/** Errors that mean Keywarden could not decide (the fail mode applies), not that it refused. */
export function isOutage(err: unknown): err is KeywardenTimeoutError | KeywardenUnavailableError {
  return err instanceof KeywardenTimeoutError || err instanceof KeywardenUnavailableError;
}

function unverified(error: KeywardenError): UnverifiedResult {
  return { verified: false, valid: true, code: 'UNVERIFIED', keyId: null, accountId: null, permission: null, scope: null, expiresAt: null, ratelimits: [], quota: null, retryAfter: null, error };
}
