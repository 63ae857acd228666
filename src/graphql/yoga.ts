import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { KeywardenError } from '../infra/errors';
import { logger } from '../infra/logger';
import { clientIp } from '../infra/http';
import { buildContext, type ContextDeps, type Credentials, type GraphQLContext } from './context';
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

/** The credentials a request presents; `publicOrigin` (KEYWARDEN_PUBLIC_URL's) is Keywarden's own, else the request's. */
function credentialsOf(request: Request, publicOrigin: string | undefined): Credentials {
  return {
    authorization: request.headers.get('authorization'),
    cookie: request.headers.get('cookie'),
    origin: request.headers.get('origin'),
    ownOrigin: publicOrigin ?? new URL(request.url).origin,
  };
}

export function createGraphQLHandler(deps: ContextDeps & { trustProxy: boolean; publicOrigin?: string }): YogaServerInstance<ServerContext, GraphQLContext> {
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
    context: ({ request, req }) => buildContext(deps, credentialsOf(request, deps.publicOrigin), req ? (clientIp(req, deps.trustProxy) ?? null) : null),
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
