import crypto from 'node:crypto';
import type { WebhookEndpoint } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { appendAudit } from '../audit/chain';
import { clock } from '../infra/clock';
import { KeywardenError, badInput, forbidden, notFound } from '../infra/errors';
import { isUuid, normalizeGrace } from '../infra/validation';
import { normalizeEventTypes } from '../events/types';
import { webhookRuntime } from './runtime';
import { encryptSecret, generateWebhookSecret } from './secrets';
import { BlockedAddressError, checkUrlAddresses } from '../infra/ssrf';

// Webhook endpoint management (README: webhooks). Master keys only. Each change and its audit event
// commit together; an endpoint of another account answers NOT_FOUND, as if it did not exist.

const MAX_ENDPOINTS_PER_ACCOUNT = 100;
const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION = 500;

export interface CreateEndpointInput {
  url: string;
  eventTypes: readonly string[];
  description?: string | null;
}

export interface UpdateEndpointInput {
  url?: string | null;
  eventTypes?: readonly string[] | null;
  description?: string | null;
  enabled?: boolean | null;
}

export interface EndpointWithSecret {
  endpoint: WebhookEndpoint;
  /** Shown once: only the ciphertext is stored. */
  secret: string;
}

/** An endpoint as the audit log and exports see it: never a secret, not even encrypted. */
export function endpointView(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    eventTypes: e.eventTypes,
    description: e.description,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    previousSecretExpiresAt: e.previousSecretExpiresAt,
    createdAt: e.createdAt,
  };
}

function assertMaster(actor: Actor): void {
  if (!actor.master) throw forbidden('only a master key can manage webhook endpoints');
}

/** http(s) only, no credentials in it, and every address it resolves to allowed by the SSRF policy. */
export async function normalizeWebhookUrl(field: string, raw: unknown): Promise<string> {
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (!s) throw badInput(field, 'must not be empty');
  if (s.length > MAX_URL_LENGTH) throw badInput(field, `must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw badInput(field, `"${s}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badInput(field, `must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw badInput(field, 'must not contain credentials; receivers authenticate deliveries by their signature');
  const { policy, resolve } = webhookRuntime();
  try {
    await checkUrlAddresses(url, policy, resolve);
  } catch (err) {
    if (err instanceof BlockedAddressError) throw badInput(field, `blocked address: ${err.message}`);
    throw badInput(field, `host ${url.hostname} could not be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return url.toString();
}

function normalizeDescription(field: string, raw: string | null | undefined): string | null {
  const s = raw?.trim() || null;
  if (s && s.length > MAX_DESCRIPTION) throw badInput(field, `must be at most ${MAX_DESCRIPTION} characters`);
  return s;
}

/** The actor's endpoint, or NOT_FOUND (ids of other accounts included). */
export async function loadEndpoint(tx: Tx, actor: Actor, id: string): Promise<WebhookEndpoint> {
  assertMaster(actor);
  if (!isUuid(id)) throw notFound('webhook endpoint', id);
  const endpoint = await tx.webhookEndpoint.findUnique({ where: { id: id.toLowerCase() } });
  if (!endpoint || endpoint.accountId !== actor.accountId) throw notFound('webhook endpoint', id);
  return endpoint;
}

function audit(tx: Tx, actor: Actor, action: string, targetId: string, before: unknown, after: unknown) {
  return appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, action, targetType: 'WebhookEndpoint', targetId, ip: actor.ip, before, after });
}

export async function listEndpoints(db: Database, actor: Actor): Promise<WebhookEndpoint[]> {
  assertMaster(actor);
  return db.prisma.webhookEndpoint.findMany({ where: { accountId: actor.accountId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

export async function createWebhookEndpoint(db: Database, actor: Actor, input: CreateEndpointInput): Promise<EndpointWithSecret> {
  assertMaster(actor);
  // Validated before any transaction opens: resolving the host may take a while.
  const url = await normalizeWebhookUrl('input.url', input.url);
  const eventTypes = normalizeEventTypes('input.eventTypes', input.eventTypes);
  const description = normalizeDescription('input.description', input.description);
  const id = crypto.randomUUID();
  const secret = generateWebhookSecret();
  const endpoint = await db.prisma.$transaction(async (tx) => {
    const existing = await tx.webhookEndpoint.count({ where: { accountId: actor.accountId } });
    if (existing >= MAX_ENDPOINTS_PER_ACCOUNT) throw new KeywardenError('CONFLICT', `an account may have at most ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints`);
    const created = await tx.webhookEndpoint.create({
      data: { id, accountId: actor.accountId, url, eventTypes, description, secretCiphertext: encryptSecret(secret, id), createdAt: clock.now() },
    });
    await audit(tx, actor, 'webhookEndpoint.create', id, null, endpointView(created));
    return created;
  });
  return { endpoint, secret };
}

export async function updateWebhookEndpoint(db: Database, actor: Actor, id: string, input: UpdateEndpointInput): Promise<WebhookEndpoint> {
  assertMaster(actor);
  const data: Record<string, unknown> = {};
  if (input.url === null) throw badInput('input.url', 'cannot be null');
  if (input.eventTypes === null) throw badInput('input.eventTypes', 'cannot be null');
  if (input.enabled === null) throw badInput('input.enabled', 'cannot be null');
  if (input.url !== undefined) data.url = await normalizeWebhookUrl('input.url', input.url);
  if (input.eventTypes !== undefined) data.eventTypes = normalizeEventTypes('input.eventTypes', input.eventTypes);
  if (input.description !== undefined) data.description = normalizeDescription('input.description', input.description);
  return db.prisma.$transaction(async (tx) => {
    const before = await loadEndpoint(tx, actor, id);
    if (input.enabled === true && !before.enabled) Object.assign(data, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
    if (input.enabled === false && before.enabled) Object.assign(data, { enabled: false, disabledReason: 'disabled by an administrator', disabledAt: clock.now() });
    const after = await tx.webhookEndpoint.update({ where: { id: before.id }, data });
    await audit(tx, actor, 'webhookEndpoint.update', before.id, endpointView(before), endpointView(after));
    return after;
  });
}

export async function deleteWebhookEndpoint(db: Database, actor: Actor, id: string): Promise<boolean> {
  assertMaster(actor);
  return db.prisma.$transaction(async (tx) => {
    const before = await loadEndpoint(tx, actor, id);
    // Its deliveries and their attempts go with it; jobs still queued find nothing and stop.
    await tx.webhookEndpoint.delete({ where: { id: before.id } });
    await audit(tx, actor, 'webhookEndpoint.delete', before.id, endpointView(before), null);
    return true;
  });
}

/**
 * A new secret, shown once. Until the grace period ends every delivery carries a signature made
 * with the old secret as well, so receivers can switch over without dropping a message.
 */
export async function rotateWebhookSecret(db: Database, actor: Actor, id: string, gracePeriodSeconds?: number | null): Promise<EndpointWithSecret> {
  assertMaster(actor);
  const grace = normalizeGrace(gracePeriodSeconds);
  const secret = generateWebhookSecret();
  const endpoint = await db.prisma.$transaction(async (tx) => {
    const before = await loadEndpoint(tx, actor, id);
    const previous = grace > 0 ? { previousSecretCiphertext: before.secretCiphertext, previousSecretExpiresAt: new Date(clock.nowMs() + grace * 1000) } : { previousSecretCiphertext: null, previousSecretExpiresAt: null };
    const after = await tx.webhookEndpoint.update({ where: { id: before.id }, data: { secretCiphertext: encryptSecret(secret, before.id), ...previous } });
    await audit(tx, actor, 'webhookEndpoint.rotateSecret', before.id, endpointView(before), endpointView(after));
    return after;
  });
  return { endpoint, secret };
}
