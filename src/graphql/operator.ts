import { OperatorRole } from '../generated/prisma/enums';
import { inviteOperator, removeOperator, updateOperator } from '../operators/manage';
import { builder } from './builder';
import { actorOf } from './context';

// Operators: the people of an account. Everyone who administers the account reads them; only
// OWNERs and master keys change them.

export const OperatorRoleEnum = builder.enumType(OperatorRole, {
  name: 'OperatorRole',
  description: 'OWNER: everything, people and the approval policy included. ADMIN: keys, agents, identities, webhooks, approvals. AUDITOR: reads everything, writes nothing.',
});

builder.prismaObject('Operator', {
  description: 'A person who administers the account, signed in through single sign-on.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    name: t.exposeString('name', { nullable: true }),
    role: t.expose('role', { type: OperatorRoleEnum }),
    disabled: t.exposeBoolean('disabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastSignInAt: t.expose('lastSignInAt', { type: 'DateTime', nullable: true }),
  }),
});

const InviteOperatorInput = builder.inputType('InviteOperatorInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    role: t.field({ type: OperatorRoleEnum, required: true }),
  }),
});

const UpdateOperatorInput = builder.inputType('UpdateOperatorInput', {
  fields: (t) => ({
    role: t.field({ type: OperatorRoleEnum }),
    disabled: t.boolean(),
  }),
});

builder.queryFields((t) => ({
  operators: t.prismaField({
    type: ['Operator'],
    description: 'The operators of the account, oldest first.',
    authScopes: { master: true },
    resolve: (query, _root, _args, ctx) => ctx.db.prisma.operator.findMany({ ...query, where: { accountId: actorOf(ctx).accountId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  }),
}));

builder.mutationFields((t) => ({
  inviteOperator: t.prismaField({
    type: 'Operator',
    description: 'Invites a person by email (matched to their verified email at first sign-in). OWNER only.',
    authScopes: { owner: true },
    args: { input: t.arg({ type: InviteOperatorInput, required: true }) },
    resolve: (_query, _root, { input }, ctx) => inviteOperator(ctx.db, actorOf(ctx), input),
  }),
  updateOperator: t.prismaField({
    type: 'Operator',
    description: "Changes an operator's role or disables them (their sessions end at once). OWNER only; the last OWNER stays.",
    authScopes: { owner: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateOperatorInput, required: true }) },
    resolve: (_query, _root, { id, input }, ctx) => updateOperator(ctx.db, actorOf(ctx), String(id), input),
  }),
  removeOperator: t.boolean({
    description: 'Removes an operator and ends their sessions. OWNER only; the last OWNER stays.',
    authScopes: { owner: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => removeOperator(ctx.db, actorOf(ctx), String(id)),
  }),
}));
