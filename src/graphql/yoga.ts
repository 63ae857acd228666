import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { KeywardenError } from '../infra/errors';
import { logger } from '../infra/logger';
import type { Database } from '../infra/db';
import type { KeyCache } from '../keys/cache';
import type Redis from 'ioredis';
import { clientIp, type TrustProxy } from '../infra/http';
import { authenticate } from '../keys/authenticate';
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

const wantsStream = (request: Request) => (request.headers.get('accept') ?? '').includes('text/event-stream');

/**
 * A stream (Server-Sent Events, i.e. a subscription) is opened only for a caller that
 * authenticates: without valid credentials the answer is a plain JSON 401 before any event.
 */
function streamsNeedCredentials(deps: HandlerDeps): Plugin<ServerContext> {
  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      if (!wantsStream(request)) return;
      const req = (serverContext as Partial<ServerContext> | undefined)?.req;
      const auth = await authenticate(deps.cache, request.headers.get('authorization'), req ? (clientIp(req, deps.trustProxy) ?? null) : null);
      if (auth.ok) return;
      const body = { errors: [{ message: auth.reason, extensions: { code: 'UNAUTHENTICATED' } }] };
      endResponse(fetchAPI.Response.json(body, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }));
    },
  };
}

type HandlerDeps = { db: Database; cache: KeyCache; trustProxy: TrustProxy; redis?: Redis; prefix?: string; bulkOperationThreshold?: number; live?: LiveFeed };

export function createGraphQLHandler(deps: HandlerDeps): YogaServerInstance<ServerContext, GraphQLContext> {
  return createYoga<ServerContext, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Keywarden', defaultQuery: DEFAULT_QUERY, headers: '{\n  "Authorization": "Bearer "\n}' },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    plugins: [streamsNeedCredentials(deps)],
    context: ({ request, req }) => buildContext(deps, request.headers.get('authorization'), req ? (clientIp(req, deps.trustProxy) ?? null) : null),
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
}
