import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { KeywardenError } from '../infra/errors';
import { logger } from '../infra/logger';
import type { Database } from '../infra/db';
import type { KeyCache } from '../keys/cache';
import type Redis from 'ioredis';
import type { TrustProxy } from '../infra/http';
import { AdmissionGate, admissionGates, admittedAuth, DEFAULT_ADMISSION, admissionPlugin, type AdmissionOptions } from './admission';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './builder';
import { buildContext, type GraphQLContext } from './context';
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

function toGraphQLError(error: unknown): GraphQLError | null {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof KeywardenError) {
    const gqlError = error instanceof GraphQLError ? error : undefined;
    return new GraphQLError(original.message, {
      nodes: gqlError?.nodes,
      path: gqlError?.path,
      extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
    });
  }
  return null;
}

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
  live?: LiveFeed;
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
    plugins: [admissionPlugin({ cache: deps.cache, trustProxy: deps.trustProxy, redis: deps.redis, prefix: deps.prefix ?? 'kw', options: admission }, gate)],
    graphiql: admission.introspection ? { title: 'Keywarden', defaultQuery: DEFAULT_QUERY, headers: '{\n  "Authorization": "Bearer "\n}' } : false,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    context: ({ request }) => buildContext(deps, admittedAuth(request), limits),
    maskedErrors: {
      maskError(error, message) {
        const known = toGraphQLError(error);
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
