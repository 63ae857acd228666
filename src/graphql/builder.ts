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
import { mayApprove, mayManagePeople, mayWrite } from '../access/roles';
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
  /** writer: anyone but an AUDITOR (every mutation needs it); owner: master keys and OWNERs; approver: OWNER or ADMIN people. */
  AuthScopes: { authenticated: boolean; keyAdmin: boolean; master: boolean; writer: boolean; owner: boolean; approver: boolean };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      authenticated: ctx.auth.ok,
      keyAdmin: ctx.auth.ok && isKeyAdmin(ctx.auth.actor),
      master: ctx.auth.ok && ctx.auth.actor.master,
      writer: ctx.auth.ok && mayWrite(ctx.auth.actor),
      owner: ctx.auth.ok && mayManagePeople(ctx.auth.actor),
      approver: ctx.auth.ok && mayApprove(ctx.auth.actor),
    }),
    unauthorizedError: (_parent, ctx) => {
      if (!ctx.auth.ok) {
        if (ctx.auth.code === 'FORBIDDEN') return new GraphQLError(ctx.auth.reason, { extensions: { code: 'FORBIDDEN' } });
        return new GraphQLError(ctx.auth.reason, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } } });
      }
      const role = ctx.auth.actor.role;
      const message = role
        ? `an operator with the role ${role} may not do that (AUDITOR reads only; people and the approval policy need an OWNER; approvals need an OWNER or ADMIN)`
        : 'this key may not do that (a master key, or MANAGE/FULL_ACCESS for its own subtree, is needed)';
      return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
    },
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
// An AUDITOR writes nothing: every mutation, present and future, needs the writer scope.
builder.mutationType({ authScopes: { writer: true } });
