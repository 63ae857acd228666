import DataLoader from 'dataloader';
import { effectivePermissions } from '../access/permission-strings';
import { createRole, deleteRole, updateRole } from '../identities/roles';
import { heldPermissions } from '../keys/stored';
import { builder } from './builder';
import { actorOf, type GraphQLContext } from './context';
import { ApiKeyRef } from './key';

export const RoleRef = builder.prismaObject('Role', {
  description: 'A named set of permission strings that keys hold.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    permissions: t.exposeStringList('permissions'),
  }),
});

// The permission strings each ancestor holds (its own plus its roles'), for every key of a page in
// one read: one loader per request, keyed by ancestor id (null: no such key, which grants nothing).
const heldLoaders = new WeakMap<GraphQLContext, DataLoader<string, string[] | null>>();
function heldByAncestors(ctx: GraphQLContext): DataLoader<string, string[] | null> {
  let loader = heldLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (ids) => {
      const rows = await ctx.db.prisma.apiKey.findMany({ where: { id: { in: [...ids] } }, select: { id: true, master: true, permissions: true, roles: { select: { id: true, permissions: true } } } });
      const byId = new Map(rows.map((a) => [a.id, heldPermissions(a)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    heldLoaders.set(ctx, loader);
  }
  return loader;
}

builder.prismaObjectFields(ApiKeyRef, (t) => ({
  permissions: t.exposeStringList('permissions', { description: "The key's own permission strings." }),
  roles: t.relation('roles'),
  effectivePermissions: t.stringList({
    description: "Its own strings plus its roles', narrowed along the ancestor chain.",
    select: { master: true, permissions: true, ancestorIds: true, roles: { select: { id: true, permissions: true } } },
    resolve: async (k, _args, ctx) => {
      if (k.ancestorIds.length === 0) return effectivePermissions([heldPermissions(k)]);
      const held = await heldByAncestors(ctx).loadMany([...k.ancestorIds].reverse());
      // Nearest ancestor first; a missing one grants nothing.
      return effectivePermissions([
        heldPermissions(k),
        ...held.map((h) => {
          if (h instanceof Error) throw h;
          return h ?? [];
        }),
      ]);
    },
  }),
}));

const roleFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0], required: boolean) => ({
  name: t.string({ required }),
  description: t.string(),
  permissions: t.stringList({ required, description: 'Dot-separated lower-case segments; a final "*" matches any rest.' }),
});
const CreateRoleInput = builder.inputType('CreateRoleInput', { fields: (t) => roleFields(t, true) });
const UpdateRoleInput = builder.inputType('UpdateRoleInput', { fields: (t) => roleFields(t, false) });

builder.queryFields((t) => ({
  roles: t.prismaField({
    type: ['Role'],
    authScopes: { keyAdmin: true },
    resolve: (query, _root, _args, ctx) => ctx.db.prisma.role.findMany({ ...query, where: { accountId: actorOf(ctx).accountId }, orderBy: [{ name: 'asc' }] }),
  }),
}));

builder.mutationFields((t) => ({
  createRole: t.field({
    type: RoleRef,
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateRoleInput, required: true }) },
    resolve: (_root, { input }, ctx) => createRole(ctx.db, actorOf(ctx), input),
  }),
  updateRole: t.field({
    type: RoleRef,
    authScopes: { master: true },
    description: 'Every key holding the role (and the keys derived from them) changes at once.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateRoleInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateRole(ctx.db, actorOf(ctx), String(id), input),
  }),
  deleteRole: t.boolean({
    authScopes: { master: true },
    description: 'Keys holding it lose its permissions at once.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteRole(ctx.db, actorOf(ctx), String(id)),
  }),
}));
