import { keyFilterWhere } from '../keys/queries';
import { AgentGroupRef, AgentRef, WorkflowRef } from './agent';
import { builder } from './builder';
import { actorOf } from './context';
import { ApiKeyConnection, KeyFilter } from './key';

// The keys scoped to an agent, group or workflow, under the `keys` list's rules: the whole account
// for a master key or an operator, its own subtree for a MANAGE/FULL_ACCESS key. Added here, once
// both types exist (key.ts already reads agent.ts for scopes).

const newestFirst = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

const about = (what: string) => ({
  cursor: 'id' as const,
  authScopes: { keyAdmin: true },
  description: `Keys scoped to this ${what} that the caller administers (its subtree for a MANAGE key), newest first.`,
});

builder.prismaObjectFields(AgentRef, (t) => ({
  keys: t.relatedConnection(
    'scopedKeys',
    { ...about('agent'), args: { filter: t.arg({ type: KeyFilter }) }, query: ({ filter }, ctx) => ({ where: keyFilterWhere(actorOf(ctx), filter), orderBy: newestFirst }) },
    ApiKeyConnection,
  ),
}));
builder.prismaObjectFields(AgentGroupRef, (t) => ({
  keys: t.relatedConnection(
    'scopedKeys',
    { ...about('agent group'), args: { filter: t.arg({ type: KeyFilter }) }, query: ({ filter }, ctx) => ({ where: keyFilterWhere(actorOf(ctx), filter), orderBy: newestFirst }) },
    ApiKeyConnection,
  ),
}));
builder.prismaObjectFields(WorkflowRef, (t) => ({
  keys: t.relatedConnection(
    'scopedKeys',
    { ...about('workflow'), args: { filter: t.arg({ type: KeyFilter }) }, query: ({ filter }, ctx) => ({ where: keyFilterWhere(actorOf(ctx), filter), orderBy: newestFirst }) },
    ApiKeyConnection,
  ),
}));
