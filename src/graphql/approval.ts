import { ApprovalTrigger, KeyRequestStatus } from '../generated/prisma/enums';
import type { Prisma } from '../generated/prisma/client';
import { mayReadKey } from '../access/admin';
import { clock } from '../infra/clock';
import { approvalPolicy, approveKeyRequest, claimKeyRequest, rejectKeyRequest, requestKey, setApprovalPolicy } from '../operators/requests';
import { builder } from './builder';
import { actorOf, type GraphQLContext } from './context';
import { CreateKeyInput, KeySecretPayload } from './key';

// The two-person rule: the approval policy and key requests (README, People and single sign-on).

const ApprovalTriggerEnum = builder.enumType(ApprovalTrigger, { name: 'ApprovalTrigger', description: 'HIGH_PRIVILEGE: MANAGE or FULL_ACCESS; EMERGENCY: EMERGENCY keys; MASTER: master keys; ANY: every key.' });
const KeyRequestStatusEnum = builder.enumType(KeyRequestStatus, { name: 'KeyRequestStatus' });

const ApprovalPolicyRef = builder.objectRef<{ requireFor: ApprovalTrigger[]; approvals: number }>('ApprovalPolicy').implement({
  fields: (t) => ({
    requireFor: t.field({ type: [ApprovalTriggerEnum], resolve: (p) => p.requireFor }),
    approvals: t.exposeInt('approvals', { description: 'How many people (other than the requester) must approve.' }),
  }),
});

builder.prismaObject('KeyApproval', {
  fields: (t) => ({
    operator: t.relation('operator'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

/** A key the caller may not see (another subtree) reads as null. */
const visibleKey = (ctx: GraphQLContext, key: { id: string; accountId: string; ancestorIds: string[] } | null) => (key && ctx.auth.ok && mayReadKey(ctx.auth.actor, key) ? key : null);

const KeyRequestRef = builder.prismaObject('KeyRequest', {
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({
      type: KeyRequestStatusEnum,
      description: 'EXPIRED as soon as a live request passes expiresAt, before the scheduled sweep marks it.',
      select: { status: true, expiresAt: true },
      resolve: (r) => ((r.status === 'PENDING' || r.status === 'APPROVED') && r.expiresAt.getTime() <= clock.nowMs() ? 'EXPIRED' : r.status),
    }),
    input: t.expose('input', { type: 'JSON' }),
    parent: t.relation('parent', { nullable: true, resolve: (query, r, _args, ctx) => r && ctx.db.prisma.apiKey.findUnique({ ...query, where: { id: r.parentId ?? '' } }).then((k) => visibleKey(ctx, k) as never) }),
    justification: t.exposeString('justification'),
    requestedBy: t.relation('requestedBy', { nullable: true }),
    requestedByKey: t.relation('requestedByKey', {
      nullable: true,
      resolve: (query, r, _args, ctx) => ctx.db.prisma.apiKey.findUnique({ ...query, where: { id: r.requestedByKeyId ?? '' } }).then((k) => visibleKey(ctx, k) as never),
    }),
    approvals: t.relation('approvals', { query: { orderBy: { at: 'asc' } } }),
    rejectedBy: t.relation('rejectedBy', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    key: t.relation('key', { nullable: true, resolve: (query, r, _args, ctx) => ctx.db.prisma.apiKey.findUnique({ ...query, where: { id: r.keyId ?? '' } }).then((k) => visibleKey(ctx, k) as never) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

const KeyRequestConnection = builder.connectionObject({ type: KeyRequestRef, name: 'KeyRequestConnection' });

/** Master keys and operators see every request of the account; another key sees the requests it made. */
function requestsWhere(ctx: GraphQLContext, status: KeyRequestStatus | null | undefined): Prisma.KeyRequestWhereInput {
  const actor = actorOf(ctx);
  const where: Prisma.KeyRequestWhereInput = { accountId: actor.accountId };
  if (!actor.master) where.requestedByKeyId = actor.keyId;
  const now = clock.now();
  if (status === 'EXPIRED') where.OR = [{ status: 'EXPIRED' }, { status: { in: ['PENDING', 'APPROVED'] }, expiresAt: { lte: now } }];
  else if (status === 'PENDING' || status === 'APPROVED') Object.assign(where, { status, expiresAt: { gt: now } });
  else if (status) where.status = status;
  return where;
}

/** The request as the query asks for it (relations included), after the domain changed it. */
const reread = (ctx: GraphQLContext, query: object) => (r: { id: string }) => ctx.db.prisma.keyRequest.findUniqueOrThrow({ ...query, where: { id: r.id } });

const SetApprovalPolicyInput = builder.inputType('SetApprovalPolicyInput', {
  fields: (t) => ({
    requireFor: t.field({ type: [ApprovalTriggerEnum], required: true }),
    approvals: t.int({ required: true }),
  }),
});

builder.queryFields((t) => ({
  approvalPolicy: t.field({
    type: ApprovalPolicyRef,
    authScopes: { keyAdmin: true },
    resolve: (_root, _args, ctx) => approvalPolicy(ctx.db, actorOf(ctx).accountId),
  }),
  keyRequests: t.prismaConnection(
    {
      type: 'KeyRequest',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      args: { status: t.arg({ type: KeyRequestStatusEnum }) },
      resolve: (query, _root, { status }, ctx) => ctx.db.read.keyRequest.findMany({ ...query, where: requestsWhere(ctx, status), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    KeyRequestConnection,
  ),
}));

builder.mutationFields((t) => ({
  setApprovalPolicy: t.field({
    type: ApprovalPolicyRef,
    description: 'Which keys need a second person (OWNER only).',
    authScopes: { owner: true },
    args: { input: t.arg({ type: SetApprovalPolicyInput, required: true }) },
    resolve: (_root, { input }, ctx) => setApprovalPolicy(ctx.db, actorOf(ctx), input),
  }),
  requestKey: t.prismaField({
    type: 'KeyRequest',
    description: 'Asks for a key under the two-person rule; checked now as createKey (no parentId) or deriveKey would check it. No secret exists until claimKeyRequest.',
    authScopes: { keyAdmin: true },
    args: { input: t.arg({ type: CreateKeyInput, required: true }), parentId: t.arg.id(), justification: t.arg.string({ required: true }) },
    resolve: (query, _root, { input, parentId, justification }, ctx) => requestKey(ctx.db, actorOf(ctx), input, parentId == null ? null : String(parentId), justification).then(reread(ctx, query)),
  }),
  approveKeyRequest: t.prismaField({
    type: 'KeyRequest',
    description: 'An OWNER or ADMIN other than the requester approves.',
    authScopes: { approver: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) => approveKeyRequest(ctx.db, actorOf(ctx), String(id)).then(reread(ctx, query)),
  }),
  rejectKeyRequest: t.prismaField({
    type: 'KeyRequest',
    authScopes: { approver: true },
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: true }) },
    resolve: (query, _root, { id, reason }, ctx) => rejectKeyRequest(ctx.db, actorOf(ctx), String(id), reason).then(reread(ctx, query)),
  }),
  claimKeyRequest: t.field({
    type: KeySecretPayload,
    description: 'The requester takes the approved key, once: the secret is minted now and shown only here.',
    authScopes: { keyAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => claimKeyRequest(ctx.db, actorOf(ctx), String(id)),
  }),
}));
