import { z } from 'zod';
import { PERMISSION_ORDER } from '../access/permission';
import { PACKAGE_VERSION } from '../infra/paths';
import { FORWARD_METHODS } from './forward';
import { ForwardOverridesSchema, LeakedRequestSchema, VerifyRequestSchema } from './schemas';
import { NOT_FOUND } from './verify';

// GET /openapi.json: an OpenAPI 3.1 document of the REST endpoints (verify, leaked, forward auth,
// the gateway, health), built once from the zod schemas the handlers validate with (schemas.ts)
// plus the answers' schemas below. Every error has one envelope, {"error": {"code", "message"}}.
// Examples are named: a request example and the response example of the same name are what
// test/integration/openapi.test.ts sends and expects.

const ErrorSchema = z
  .object({ error: z.object({ code: z.string().meta({ description: 'A stable, upper-case code (e.g. BAD_REQUEST, NOT_FOUND, RATE_LIMITED).' }), message: z.string() }) })
  .meta({ description: 'The error envelope of every REST endpoint.' });

const RateLimitStateSchema = z.object({
  window: z.string(),
  owner: z.enum(['KEY', 'IDENTITY']).meta({ description: "Whose window: the key's own or its identity's (shared by all its keys)." }),
  limit: z.number().int(),
  remaining: z.number().int(),
  reset: z.number().int().meta({ description: 'Epoch milliseconds.' }),
});

const VerifyResponseSchema = z
  .object({
    valid: z.boolean(),
    code: z.string().meta({ description: 'VALID or the first failing check (README, "Verification and the gateway").' }),
    keyId: z.string().nullable(),
    accountId: z.string().nullable(),
    permission: z.enum(PERMISSION_ORDER as [string, ...string[]]).nullable(),
    scope: z.object({ kind: z.string(), agentId: z.string().nullable(), workflowIds: z.array(z.string()) }).nullable(),
    expiresAt: z.string().nullable(),
    ratelimits: z.array(RateLimitStateSchema),
    quota: z.object({ limit: z.number().int(), remaining: z.number().int(), reset: z.number().int() }).nullable().meta({ description: "The key's quota or its identity's, whichever has fewer units left." }),
    identity: z.object({ id: z.string(), externalId: z.string(), metadata: z.record(z.string(), z.unknown()).nullable() }).nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable().meta({ description: "The key's own metadata." }),
    permissions: z.array(z.string()).meta({ description: "Effective permission strings: the key's own and its roles', narrowed along its ancestors." }),
    credits: z.object({ remaining: z.number().int() }).nullable(),
  })
  .meta({ description: 'Every decision is a 200 answer; `valid` tells whether the request may pass.' });

const TooManyFailedAttemptsSchema = ErrorSchema.extend({ code: z.literal('TOO_MANY_FAILED_ATTEMPTS'), message: z.string() }).meta({
  description: 'The error envelope, with the code also at the top level.',
});

const LeakedAcceptedSchema = z.object({ received: z.number().int() }).meta({ description: 'Accepted; nothing is said about which secrets matched.' });
const HealthSchema = z.object({ status: z.literal('ok') });
const ReadinessSchema = z.object({ ready: z.boolean(), database: z.string(), redis: z.string() });

const COMPONENTS = {
  Error: ErrorSchema,
  VerifyRequest: VerifyRequestSchema,
  VerifyResponse: VerifyResponseSchema,
  TooManyFailedAttempts: TooManyFailedAttemptsSchema,
  LeakedRequest: LeakedRequestSchema,
  LeakedAccepted: LeakedAcceptedSchema,
  Health: HealthSchema,
  Readiness: ReadinessSchema,
} as const;

type Json = Record<string, unknown>;
const ref = (name: keyof typeof COMPONENTS) => ({ $ref: `#/components/schemas/${name}` });
const errorEnvelope = (code: string, message: string) => ({ error: { code, message } });

/** A JSON response, with named examples. */
function json(description: string, schema: Json, examples: Record<string, unknown> = {}, headers?: Json): Json {
  const content: Json = { schema };
  if (Object.keys(examples).length > 0) content.examples = Object.fromEntries(Object.entries(examples).map(([k, value]) => [k, { value }]));
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': content } };
}

const errorResponse = (description: string, examples: Record<string, unknown> = {}, headers?: Json) => json(description, ref('Error'), examples, headers);
const header = (description: string) => ({ description, schema: { type: 'string' } });
const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': header('The tightest rate window: its limit.'),
  'RateLimit-Remaining': header('The tightest rate window: requests left.'),
  'RateLimit-Reset': header('The tightest rate window: seconds until it resets.'),
};
const DENIALS = {
  '401': errorResponse('Missing, unknown, expired or revoked key (WWW-Authenticate: Bearer).', {}, { 'WWW-Authenticate': header('Bearer') }),
  '403': errorResponse('Permission, scope, IP, access window, country or condition.'),
  '429': errorResponse('Rate, quota, bandwidth, concurrency, or too many unknown keys from this address.', {}, { 'Retry-After': header('Seconds to wait.'), ...RATE_LIMIT_HEADERS }),
};

function verifyPaths(): Json {
  const badPermission = `permission: must be one of ${PERMISSION_ORDER.join(', ')}`;
  return {
    '/v1/keys/verify': {
      post: {
        operationId: 'verifyKey',
        summary: 'Verify an API key (every decision answers 200)',
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: ref('VerifyRequest'), examples: { unknownKey: { value: { key: 'ak_prod_not_a_real_key' } }, badPermission: { value: { key: 'ak_prod_not_a_real_key', permission: 'ADMIN' } } } },
          },
        },
        responses: {
          '200': json('The decision.', ref('VerifyResponse'), {
            unknownKey: NOT_FOUND,
          }),
          '400': errorResponse('Malformed JSON (MALFORMED_JSON) or a bad field (BAD_REQUEST, naming it).', { badPermission: errorEnvelope('BAD_REQUEST', badPermission) }),
          '413': errorResponse('The body is over 16 KiB.'),
          '429': json('Too many unknown keys from this address (Retry-After).', ref('TooManyFailedAttempts'), {}, { 'Retry-After': header('Seconds to wait.') }),
        },
      },
    },
    '/v1/keys/leaked': {
      post: {
        operationId: 'reportLeakedKeys',
        summary: 'Report leaked secrets: those that are Keywarden keys are revoked (no authentication)',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: ref('LeakedRequest'),
              examples: { report: { value: { keys: ['sk_live_not_a_keywarden_key'], source: 'github', url: 'https://github.com/acme/app/blob/main/.env' } }, noKeys: { value: { keys: [] } } },
            },
          },
        },
        responses: {
          '202': json('Accepted (the same answer whether or not any secret matched).', ref('LeakedAccepted'), { report: { received: 1 } }),
          '400': errorResponse('A bad body, naming the field.', { noKeys: errorEnvelope('BAD_REQUEST', 'keys: must hold between 1 and 100 secrets') }),
          '429': errorResponse('Too many reports from this address (Retry-After).'),
        },
      },
    },
  };
}

/** The examples ride on GET only: one request each. */
function forwardParameters(withExamples: boolean): Json[] {
  const overrides = z.toJSONSchema(ForwardOverridesSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, Json> };
  const inHeader = (name: string, description: string, examples: Record<string, string> = {}) => ({
    name,
    in: 'header',
    required: false,
    description,
    schema: { type: 'string' },
    ...(withExamples && Object.keys(examples).length > 0 ? { examples: Object.fromEntries(Object.entries(examples).map(([k, value]) => [k, { value }])) } : {}),
  });
  return [
    inHeader('X-Forwarded-Method', 'The original method (Traefik, Caddy); or X-Original-Method.', { noKey: 'POST', missingUri: 'POST' }),
    inHeader('X-Forwarded-Uri', 'The original path and query (Traefik, Caddy); or X-Original-URI.', { noKey: '/v1/agents/agt_123/run' }),
    inHeader('X-Original-Method', 'The original method (nginx).'),
    inHeader('X-Original-URI', 'The original path and query (nginx).'),
    ...Object.entries(overrides.properties).map(([name, schema]) => ({ name, in: 'query', required: false, description: `${schema.description ?? ''} Takes precedence over the original request.`, schema })),
  ];
}

function forwardPaths(): Json {
  const operation = (method: string, ex = method === 'GET') => ({
    operationId: `forwardAuth${method[0]}${method.slice(1).toLowerCase()}`,
    summary: 'Forward auth for Traefik ForwardAuth, Caddy forward_auth and nginx auth_request',
    security: [{ bearer: [] }],
    parameters: forwardParameters(ex),
    responses: {
      '200': {
        description: 'Allowed: an empty body and the X-Keywarden-* headers for the upstream.',
        headers: {
          'X-Keywarden-Key-Id': header('The key.'),
          'X-Keywarden-Account-Id': header("The key's account."),
          'X-Keywarden-Identity': header("The identity's externalId, when the key has one."),
          'X-Keywarden-Permissions': header('Effective permission strings, comma-separated, when there are any.'),
          ...RATE_LIMIT_HEADERS,
        },
      },
      '400': errorResponse(
        'The original-request headers are missing (named), the original URI names no agent or workflow and no query parameter is given, or a query parameter is bad.',
        ex ? { missingUri: errorEnvelope('BAD_REQUEST', 'the original request is missing: X-Forwarded-Uri (Traefik, Caddy) or X-Original-URI (nginx)') } : {},
      ),
      '401': errorResponse('As the gateway, plus X-Keywarden-Code.', ex ? { noKey: errorEnvelope('UNAUTHENTICATED', 'send the API key as "Authorization: Bearer <key>"') } : {}, {
        'WWW-Authenticate': header('Bearer'),
        'X-Keywarden-Code': header('The code.'),
      }),
      '403': errorResponse('As the gateway, plus X-Keywarden-Code; FORWARD_AUTH_UNSUPPORTED for keys with bandwidth or concurrency limits.', {}, { 'X-Keywarden-Code': header('The code.') }),
      '429': errorResponse('As the gateway (Retry-After), plus X-Keywarden-Code.', {}, { 'Retry-After': header('Seconds to wait.'), 'X-Keywarden-Code': header('The code.'), ...RATE_LIMIT_HEADERS }),
    },
  });
  const item: Json = {};
  for (const m of FORWARD_METHODS) item[m.toLowerCase()] = operation(m);
  return { '/v1/auth/forward': item };
}

function gatewayPaths(): Json {
  const item = (kind: 'agent' | 'workflow') => {
    const idName = `${kind}Id`;
    const operation = (method: string, permission: string) => ({
      operationId: `gateway${kind === 'agent' ? 'Agent' : 'Workflow'}${method}`,
      summary: `Proxy to the ${kind}'s upstreamUrl (needs ${permission})`,
      security: [{ bearer: [] }],
      parameters: [
        { name: idName, in: 'path', required: true, schema: { type: 'string' }, ...(method === 'Get' ? { examples: { noKey: { value: `${kind.slice(0, 3)}_123` } } } : {}) },
        {
          name: 'path',
          in: 'path',
          required: true,
          description: 'The rest of the path (may contain slashes), passed to the upstream with the query.',
          schema: { type: 'string' },
          ...(method === 'Get' ? { examples: { noKey: { value: 'run' } } } : {}),
        },
      ],
      responses: {
        '200': { description: "The upstream's answer, with RateLimit-*.", headers: RATE_LIMIT_HEADERS },
        '401': errorResponse('Missing, unknown, expired or revoked key.', method === 'Get' ? { noKey: errorEnvelope('UNAUTHENTICATED', 'send the API key as "Authorization: Bearer <key>"') } : {}, {
          'WWW-Authenticate': header('Bearer'),
        }),
        '403': DENIALS['403'],
        '413': errorResponse('The body is over 10 MiB.'),
        '429': DENIALS['429'],
        '502': errorResponse('NO_UPSTREAM or UPSTREAM_UNAVAILABLE.'),
        '504': errorResponse('UPSTREAM_TIMEOUT.'),
      },
    });
    return { get: operation('Get', 'READ_ONLY'), post: operation('Post', 'EXECUTE'), put: operation('Put', 'MANAGE'), patch: operation('Patch', 'MANAGE'), delete: operation('Delete', 'FULL_ACCESS') };
  };
  return { '/v1/agents/{agentId}/{path}': item('agent'), '/v1/workflows/{workflowId}/{path}': item('workflow') };
}

function operationalPaths(): Json {
  return {
    '/healthz': { get: { operationId: 'health', summary: 'Alive', responses: { '200': json('Alive.', ref('Health'), { alive: { status: 'ok' } }) } } },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Database and Redis reachable',
        responses: { '200': json('Ready.', ref('Readiness')), '503': json('Not ready: what failed.', ref('Readiness')) },
      },
    },
    '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } } } },
  };
}

function componentSchemas(): Json {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` });
  for (const s of Object.values(schemas)) {
    delete (s as Json).$schema;
    delete (s as Json).$id;
  }
  return schemas;
}

let built: string | null = null;

/** The document as JSON text (built on first use). */
export function openApiDocument(): string {
  built ??= JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'Keywarden', version: PACKAGE_VERSION, description: 'The REST endpoints of Keywarden (the admin API is GraphQL: POST /graphql).' },
    paths: { ...verifyPaths(), ...forwardPaths(), ...gatewayPaths(), ...operationalPaths() },
    components: { schemas: componentSchemas(), securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } } },
  });
  return built;
}
