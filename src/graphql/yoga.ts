import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { logger } from '../infra/logger';
import type { Database } from '../infra/db';
import type { KeyUseEffects } from '../keys/authenticate';
import type { KeyCache } from '../keys/cache';
import type Redis from 'ioredis';
import type { TrustProxy } from '../infra/http';
import { AdmissionGate, admissionGates, admittedAuth, DEFAULT_ADMISSION, admissionPlugin, type AdmissionOptions } from './admission';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './builder';
import { buildContext, type GraphQLContext } from './context';
import { graphiqlPage } from './graphiql';
import { logYogaError, refusalError } from './refusals';
import { authenticateRequest } from './credentials';
import type { SessionPolicy } from '../operators/sessions';
import type { LiveFeed } from './live-feed';
import { getSchema } from './schema';

type ServerContext = { req: IncomingMessage; res: ServerResponse };

const DEFAULT_QUERY = `# Paste your key into the Headers tab below:
#   { "Authorization": "Bearer ak_root_..." }
query Me {
  viewer {
    account { id name }
    key { id name start permission status }
  }
}
`;

/** GRAPHQL_* settings: query limits and admission (see admission.ts). */
export type GraphQLOptions = Partial<AdmissionOptions> & Partial<QueryLimits>;

export interface GraphQLHandlerDeps {
  db: Database;
  cache: KeyCache;
  trustProxy: TrustProxy;
  redis?: Redis;
  prefix?: string;
  bulkOperationThreshold?: number;
  options?: GraphQLOptions;
  /** Shared with verification: what a use of a key sets in motion (see keys/authenticate). */
  keyUses?: KeyUseEffects;
  live?: LiveFeed;
  /** Signed-in people: session lifetimes and Keywarden's own origin (credentials.ts). */
  sessions?: SessionPolicy;
  publicOrigin?: string;
}

export function createGraphQLHandler(deps: GraphQLHandlerDeps): YogaServerInstance<ServerContext, GraphQLContext> {
  const admission: AdmissionOptions = { ...DEFAULT_ADMISSION, ...definedOnly(deps.options ?? {}) };
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...definedOnly({ depth: deps.options?.depth, complexity: deps.options?.complexity, breadth: deps.options?.breadth }) };
  const gate = new AdmissionGate(admission.maxConcurrent, admission.maxQueued);
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maxRequestBodySize: admission.maxBodyBytes,
    plugins: [
      admissionPlugin(
        {
          cache: deps.cache,
          authenticate: (request, ip) => authenticateRequest(deps, request, ip, deps.keyUses),
          trustProxy: deps.trustProxy,
          redis: deps.redis,
          prefix: deps.prefix ?? 'kw',
          options: admission,
          keyUses: deps.keyUses,
        },
        gate,
      ),
    ],
    graphiql: admission.introspection ? { title: 'Keywarden', defaultQuery: DEFAULT_QUERY, headers: '{\n  "Authorization": "Bearer "\n}' } : false,
    renderGraphiQL: (options) => graphiqlPage(options).html,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: logYogaError,
    },
    context: ({ request }) => buildContext(deps, admittedAuth(request), limits),
    maskedErrors: {
      maskError(error, message) {
        const known = refusalError(error);
        if (known) return known;
        if (error instanceof GraphQLError && !(error.originalError && !(error.originalError instanceof GraphQLError))) return error;
        logger.error({ err: error instanceof GraphQLError ? error.originalError : error }, 'unexpected error in GraphQL resolver');
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
  });
  admissionGates.set(yoga, gate);
  return yoga;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
