import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-types';
import { getDatamodel } from '../generated/pothos-types';
import { isKeyAdmin } from '../access/admin';
import { fieldComplexity } from './complexity';
import type { GraphQLContext } from './context';

export interface QueryLimits {
  depth: number;
  complexity: number;
  breadth: number;
}

/** GRAPHQL_MAX_DEPTH and GRAPHQL_MAX_COMPLEXITY default to these; each request's context carries the configured ones. */
export const DEFAULT_QUERY_LIMITS: QueryLimits = { depth: 12, complexity: 5000, breadth: 200 };
/** The defaults, under the name the tests know. */
export const limits = DEFAULT_QUERY_LIMITS;

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  AuthScopes: { authenticated: boolean; keyAdmin: boolean; master: boolean };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      authenticated: ctx.auth.ok,
      keyAdmin: ctx.auth.ok && isKeyAdmin(ctx.auth.actor),
      master: ctx.auth.ok && ctx.auth.actor.master,
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.auth.ok
        ? new GraphQLError('this key may not do that (a master key, or MANAGE/FULL_ACCESS for its own subtree, is needed)', { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError(ctx.auth.reason, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } } }),
  },
  prisma: {
    client: (ctx) => ctx.db.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'test' ? 'error' : null,
  },
  relay: {
    cursorType: 'String',
    clientMutationId: 'omit',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    fieldComplexity,
    limit: (ctx) => ctx.limits,
    complexityError: (kind, result) =>
      new GraphQLError(`query too complex: ${kind.toLowerCase()} ${result[kind.toLowerCase() as 'depth']} exceeds the limit of ${result[`max${kind}` as 'maxDepth']}`, {
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      }),
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
