// @keywarden/sdk: a client for Keywarden's verify endpoint, leaked-key reports and GraphQL admin
// API. Framework middleware lives in its own entry points: @keywarden/sdk/express, /fastify, /hono.

export { KeywardenClient, isOutage } from './client.js';
export type { CallOptions, GraphQLOptions, KeywardenClientOptions, VerifyOptions } from './client.js';
export {
  KeywardenError,
  KeywardenGraphQLError,
  KeywardenHttpError,
  KeywardenInputError,
  KeywardenTimeoutError,
  KeywardenUnavailableError,
  KeywardenUnsupportedError,
} from './errors.js';
export type { GraphQLErrorEntry } from './errors.js';
export { DENIAL_MESSAGES, denial, denialFor, rateLimitHeaders, retryAfterFor, statusForCode, tightestRateLimit } from './denial.js';
export type { Denial } from './denial.js';
export { bearerKey, decide } from './guard.js';
export type { Decision, GuardOptions, Target, TargetOption, Verifier } from './guard.js';
export { VERIFY_CODES } from './types.js';
export type {
  DenialCode,
  ErrorEnvelope,
  FailMode,
  IdentityRef,
  KeyScope,
  Permission,
  QuotaState,
  RateLimitState,
  RateWindow,
  ScopeKind,
  UnverifiedResult,
  VerifiedResult,
  VerifyCode,
  VerifyRequest,
  VerifyResult,
} from './types.js';
