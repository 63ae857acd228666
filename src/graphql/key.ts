import DataLoader from 'dataloader';
import type { Agent, AgentGroup, Workflow } from '../generated/prisma/client';
import { KeyType, type Permission, type ScopeKind } from '../generated/prisma/enums';
import type { AccessWindowSetting, BandwidthSetting, QuotaSetting, RateLimitSetting } from '../access/key-settings';
import { lowestPermission } from '../access/permission';
import { mayReadKey } from '../access/admin';
import { effectiveStatus } from '../access/usable';
import { clock } from '../infra/clock';
import { notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';
import { revokeKeys, rotateKeys, updateKeys } from '../keys/bulk';
import { createKey } from '../keys/create';
import { deriveKey } from '../keys/derive';
import { KEY_PRESETS } from '../keys/presets';
import { countUnrevokedDescendants, keyFilterWhere } from '../keys/queries';
import { revokeKey } from '../keys/revoke';
import { rotateKey } from '../keys/rotate';
import { parseKeyColumn, type StoredKey } from '../keys/stored';
import { updateKey } from '../keys/update';
import { builder } from './builder';
import { actorOf, type GraphQLContext } from './context';
import { ExpirationEnum, KeyStatusEnum, KeyTypeEnum, PeriodEnum, PermissionEnum, RateWindowEnum, ScopeKindEnum, WeekdayEnum } from './enums';
import { AgentGroupRef, AgentRef, WorkflowRef } from './agent';
import { CreditsInput } from './credits-input';

export const RateLimit = builder.objectRef<RateLimitSetting>('RateLimit').implement({
  fields: (t) => ({ window: t.expose('window', { type: RateWindowEnum }), limit: t.exposeInt('limit') }),
});
export const Quota = builder.objectRef<QuotaSetting>('Quota').implement({
  fields: (t) => ({ units: t.exposeInt('units'), period: t.expose('period', { type: PeriodEnum }) }),
});
const Bandwidth = builder.objectRef<BandwidthSetting>('Bandwidth').implement({
  fields: (t) => ({ bytes: t.exposeFloat('bytes'), period: t.expose('period', { type: PeriodEnum }) }),
});
const AccessWindow = builder.objectRef<AccessWindowSetting>('AccessWindow').implement({
  fields: (t) => ({
    days: t.expose('days', { type: [WeekdayEnum] }),
    start: t.exposeString('start'),
    end: t.exposeString('end'),
    timeZone: t.exposeString('timeZone'),
  }),
});

export const ApiKeyRef = builder.prismaObject('ApiKey', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    start: t.exposeString('start', { description: 'The key prefix and the first four characters of its body.' }),
    type: t.expose('type', { type: KeyTypeEnum }),
    master: t.exposeBoolean('master'),
    permission: t.expose('permission', { type: PermissionEnum, description: 'As set on this key.' }),
    effectivePermission: t.field({
      type: PermissionEnum,
      description: "After inheritance: never above any ancestor's.",
      select: { permission: true, ancestorIds: true },
      resolve: async (k, _args, ctx) => {
        const ancestors = await ctx.loaders.keyPermission.loadMany(k.ancestorIds);
        // A missing ancestor cannot grant anything.
        const perms = ancestors.map((p): Permission => (p === null || p instanceof Error ? 'READ_ONLY' : p));
        return lowestPermission([k.permission, ...perms]);
      },
    }),
    scope: t.field({
      type: KeyScope,
      select: { scopeKind: true, scopeAgent: true, scopeGroup: true, scopeWorkflows: true },
      resolve: (k) => ({ kind: k.scopeKind, agent: k.scopeAgent, group: k.scopeGroup, workflows: k.scopeWorkflows }),
    }),
    status: t.field({
      type: KeyStatusEnum,
      select: { status: true, expiresAt: true, graceEndsAt: true },
      resolve: (k) => effectiveStatus(k, clock.nowMs()),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    revokedReason: t.exposeString('revokedReason', { nullable: true }),
    graceEndsAt: t.expose('graceEndsAt', { type: 'DateTime', nullable: true }),
    rotationDueAt: t.expose('rotationDueAt', { type: 'DateTime', nullable: true }),
    rotationPeriodDays: t.exposeInt('rotationPeriodDays', { nullable: true }),
    ipAllowlist: t.exposeStringList('ipAllowlist'),
    rateLimits: t.field({ type: [RateLimit], select: { rateLimits: true }, resolve: (k) => parseKeyColumn('rateLimits', k.rateLimits) }),
    quota: t.field({ type: Quota, nullable: true, select: { quota: true }, resolve: (k) => parseKeyColumn('quota', k.quota) }),
    bandwidth: t.field({ type: Bandwidth, nullable: true, select: { bandwidth: true }, resolve: (k) => parseKeyColumn('bandwidth', k.bandwidth) }),
    maxConcurrent: t.exposeInt('maxConcurrent', { nullable: true }),
    accessWindows: t.field({ type: [AccessWindow], select: { accessWindows: true }, resolve: (k) => parseKeyColumn('accessWindows', k.accessWindows) }),
    allowedCountries: t.exposeStringList('allowedCountries'),
    condition: t.exposeString('condition', { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
  }),
});

export const ApiKeyConnection = builder.connectionObject({ type: ApiKeyRef, name: 'ApiKeyConnection' });

// descendantCount of every key in a list in one grouped count: one loader per request.
const descendantLoaders = new WeakMap<GraphQLContext, DataLoader<string, number>>();
function descendantCounts(ctx: GraphQLContext): DataLoader<string, number> {
  let loader = descendantLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((ids) => countUnrevokedDescendants(ctx.db, ids));
    descendantLoaders.set(ctx, loader);
  }
  return loader;
}

// Links between keys, added once the type exists. Keys outside what the caller may read show as null.
builder.prismaObjectFields(ApiKeyRef, (t) => ({
  parent: t.field({
    type: ApiKeyRef,
    nullable: true,
    select: { parent: true },
    resolve: (k, _args, ctx) => (k.parent && ctx.auth.ok && mayReadKey(ctx.auth.actor, k.parent) ? k.parent : null),
  }),
  descendantCount: t.int({
    description: 'Keys below this one that are not revoked yet: what revokeKey would take along.',
    // A grouped count over the key's subtree per page: dearer than a column.
    complexity: 5,
    resolve: (k, _args, ctx) => descendantCounts(ctx).load(k.id),
  }),
  children: t.relatedConnection('children', { cursor: 'id', query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } }, ApiKeyConnection),
  predecessor: t.field({
    type: ApiKeyRef,
    nullable: true,
    select: { predecessor: true },
    resolve: (k, _args, ctx) => (k.predecessor && ctx.auth.ok && mayReadKey(ctx.auth.actor, k.predecessor) ? k.predecessor : null),
  }),
  successor: t.field({
    type: ApiKeyRef,
    nullable: true,
    select: { successor: true },
    resolve: (k, _args, ctx) => (k.successor && ctx.auth.ok && mayReadKey(ctx.auth.actor, k.successor) ? k.successor : null),
  }),
}));

type ScopeShape = { kind: ScopeKind; agent: Agent | null; group: AgentGroup | null; workflows: Workflow[] };
const KeyScope = builder.objectRef<ScopeShape>('KeyScope').implement({
  fields: (t) => ({
    kind: t.expose('kind', { type: ScopeKindEnum }),
    agent: t.expose('agent', { type: AgentRef, nullable: true }),
    group: t.expose('group', { type: AgentGroupRef, nullable: true }),
    workflows: t.expose('workflows', { type: [WorkflowRef] }),
  }),
});

const ScopeInput = builder.inputType('ScopeInput', {
  fields: (t) => ({
    kind: t.field({ type: ScopeKindEnum, required: true }),
    agentId: t.id(),
    groupId: t.id(),
    workflowIds: t.idList(),
  }),
});
export const RateLimitInput = builder.inputType('RateLimitInput', {
  fields: (t) => ({ window: t.field({ type: RateWindowEnum, required: true }), limit: t.int({ required: true }) }),
});
export const QuotaInput = builder.inputType('QuotaInput', {
  fields: (t) => ({ units: t.int({ required: true }), period: t.field({ type: PeriodEnum, required: true }) }),
});
const BandwidthInput = builder.inputType('BandwidthInput', {
  fields: (t) => ({ bytes: t.float({ required: true }), period: t.field({ type: PeriodEnum, required: true }) }),
});
const AccessWindowInput = builder.inputType('AccessWindowInput', {
  fields: (t) => ({
    days: t.field({ type: [WeekdayEnum], required: true }),
    start: t.string({ required: true, description: '"09:00"' }),
    end: t.string({ required: true, description: '"17:30"; an end before start crosses midnight' }),
    timeZone: t.string({ required: true, description: 'IANA time zone, e.g. "Europe/Berlin"' }),
  }),
});

const restrictionFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
  ipAllowlist: t.stringList({ description: '"203.0.113.7", "10.0.0.0/8", "2001:db8::/32"' }),
  rateLimits: t.field({ type: [RateLimitInput] }),
  quota: t.field({ type: QuotaInput }),
  bandwidth: t.field({ type: BandwidthInput }),
  maxConcurrent: t.int(),
  accessWindows: t.field({ type: [AccessWindowInput] }),
  allowedCountries: t.stringList({ description: 'ISO 3166-1 alpha-2' }),
  condition: t.string({ description: 'CEL expression over request attributes' }),
  rotationPeriodDays: t.int(),
  metadata: t.field({ type: 'JSON' }),
  permissions: t.stringList({ description: 'Permission strings of the key itself ("billing.invoices.read", "billing.*").' }),
  roles: t.idList({ description: 'Roles the key holds (replaces the list on update).' }),
  credits: t.field({ type: CreditsInput, description: 'A lifetime budget spent by `cost`; setting it starts the count again. null removes it.' }),
  identityId: t.id({ description: "The identity the key joins (derived keys: the parent's by default); null on update leaves it." }),
});

export const CreateKeyInput = builder.inputType('CreateKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    type: t.field({ type: KeyTypeEnum, required: true }),
    permission: t.field({ type: PermissionEnum }),
    scope: t.field({ type: ScopeInput, description: "Default ALL_AGENTS (derived keys: the parent's)." }),
    expiresIn: t.field({ type: ExpirationEnum }),
    expiresAt: t.field({ type: 'DateTime', description: 'Alternative to expiresIn.' }),
    ...restrictionFields(t),
  }),
});

export const UpdateKeyInput = builder.inputType('UpdateKeyInput', {
  fields: (t) => ({
    name: t.string(),
    permission: t.field({ type: PermissionEnum }),
    scope: t.field({ type: ScopeInput }),
    expiresAt: t.field({ type: 'DateTime' }),
    ...restrictionFields(t),
  }),
});

export const KeyFilter = builder.inputType('KeyFilter', {
  fields: (t) => ({
    status: t.field({ type: KeyStatusEnum }),
    type: t.field({ type: KeyTypeEnum }),
    search: t.string({ description: 'Matches the name (case-insensitive) or the start of the key.' }),
    expiringBefore: t.field({ type: 'DateTime' }),
    parentId: t.id(),
  }),
});

export const KeySecretPayload = builder.objectRef<{ key: StoredKey; secret: string; previous?: StoredKey | null }>('KeySecretPayload').implement({
  fields: (t) => ({
    key: t.field({ type: ApiKeyRef, resolve: (p) => p.key }),
    secret: t.exposeString('secret', { description: 'Shown once: only a digest is stored.' }),
    previous: t.field({ type: ApiKeyRef, nullable: true, resolve: (p) => p.previous ?? null }),
  }),
});

const KeyTypePreset = builder.objectRef<{ type: keyof typeof KEY_PRESETS } & (typeof KEY_PRESETS)[keyof typeof KEY_PRESETS]>('KeyTypePreset').implement({
  description: 'What createKey fills in for a type when the input leaves a field out.',
  fields: (t) => ({
    type: t.field({ type: KeyTypeEnum, resolve: (p) => p.type }),
    permission: t.field({ type: PermissionEnum, resolve: (p) => p.permission }),
    expiresInDays: t.int({ nullable: true, description: 'null: never expires.', resolve: (p) => p.expiresInDays }),
    rateLimits: t.field({ type: [RateLimit], resolve: (p) => p.rateLimits }),
    rotationPeriodDays: t.int({ nullable: true, description: 'null: rotation is due after each use.', resolve: (p) => p.rotationPeriodDays }),
    requiresIpAllowlist: t.boolean({ resolve: (p) => p.requiresIpAllowlist }),
  }),
});

builder.queryFields((t) => ({
  keyTypePresets: t.field({
    type: [KeyTypePreset],
    authScopes: { authenticated: true },
    resolve: () => Object.values(KeyType).map((type) => ({ type, ...KEY_PRESETS[type] })),
  }),
  key: t.prismaField({
    type: 'ApiKey',
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, { id }, ctx) => {
      const actor = actorOf(ctx);
      const key = isUuid(id) ? await ctx.db.prisma.apiKey.findUnique({ ...query, where: { id: id.toLowerCase() } }) : null;
      if (!key || !mayReadKey(actor, key)) throw notFound('key', id);
      return key;
    },
  }),
  keys: t.prismaConnection(
    {
      type: 'ApiKey',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      args: { filter: t.arg({ type: KeyFilter }) },
      resolve: (query, _root, { filter }, ctx) => ctx.db.prisma.apiKey.findMany({ ...query, where: keyFilterWhere(actorOf(ctx), filter), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    ApiKeyConnection,
  ),
}));

const bulkOptions = (ctx: GraphQLContext) => ({ threshold: ctx.bulkOperationThreshold });

builder.mutationFields((t) => ({
  createKey: t.field({
    type: KeySecretPayload,
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => createKey(ctx.db, actorOf(ctx), input),
  }),
  updateKey: t.field({
    type: ApiKeyRef,
    authScopes: { keyAdmin: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateKeyInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateKey(ctx.db, actorOf(ctx), String(id), input),
  }),
  deriveKey: t.field({
    type: KeySecretPayload,
    authScopes: { keyAdmin: true },
    description: 'A child of parentId that may only narrow it (EXCEEDS_PARENT otherwise). Left-out fields follow the parent.',
    args: { parentId: t.arg.id({ required: true }), input: t.arg({ type: CreateKeyInput, required: true }) },
    resolve: (_root, { parentId, input }, ctx) => deriveKey(ctx.db, actorOf(ctx), String(parentId), input),
  }),
  rotateKey: t.field({
    type: KeySecretPayload,
    authScopes: { keyAdmin: true },
    description: 'Issues a successor; the old key stays valid until graceEndsAt (0 = now). Children move to the successor.',
    args: { id: t.arg.id({ required: true }), gracePeriodSeconds: t.arg.int({ defaultValue: 86400 }) },
    resolve: (_root, { id, gracePeriodSeconds }, ctx) => rotateKey(ctx.db, actorOf(ctx), String(id), gracePeriodSeconds),
  }),
  rotateKeys: t.field({
    type: [KeySecretPayload],
    authScopes: { keyAdmin: true },
    description: 'All or nothing.',
    args: { ids: t.arg.idList({ required: true }), gracePeriodSeconds: t.arg.int({ defaultValue: 86400 }) },
    resolve: (_root, { ids, gracePeriodSeconds }, ctx) => rotateKeys(ctx.db, actorOf(ctx), ids.map(String), gracePeriodSeconds, bulkOptions(ctx)),
  }),
  revokeKeys: t.field({
    type: [ApiKeyRef],
    authScopes: { keyAdmin: true },
    description: "All or nothing; each key's subtree goes with it.",
    args: { ids: t.arg.idList({ required: true }), reason: t.arg.string() },
    resolve: (_root, { ids, reason }, ctx) => revokeKeys(ctx.db, actorOf(ctx), ids.map(String), reason, bulkOptions(ctx)),
  }),
  updateKeys: t.field({
    type: [ApiKeyRef],
    authScopes: { keyAdmin: true },
    description: 'The same change to every key, all or nothing.',
    args: { ids: t.arg.idList({ required: true }), input: t.arg({ type: UpdateKeyInput, required: true }) },
    resolve: (_root, { ids, input }, ctx) => updateKeys(ctx.db, actorOf(ctx), ids.map(String), input, bulkOptions(ctx)),
  }),
  revokeKey: t.field({
    type: ApiKeyRef,
    authScopes: { keyAdmin: true },
    description: 'Revokes the key and every key derived from it.',
    args: { id: t.arg.id({ required: true }), reason: t.arg.string() },
    resolve: (_root, { id, reason }, ctx) => revokeKey(ctx.db, actorOf(ctx), String(id), reason),
  }),
}));
