import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { GqlResult, Harness } from './harness';

// Shared pieces for the GraphQL integration tests: the operations they send, helpers that create
// fixtures through the API (failing loudly when the API refuses), and error assertions.

/** Every field of ApiKey that takes no required argument, links included (one level deep). */
export const KEY_FIELDS = `
  id name start type master permission effectivePermission status
  createdAt expiresAt lastUsedAt revokedAt revokedReason graceEndsAt rotationDueAt rotationPeriodDays
  ipAllowlist rateLimits { window limit } quota { units period } bandwidth { bytes period } maxConcurrent
  accessWindows { days start end timeZone } allowedCountries condition metadata
  scope { kind agent { id name } group { id name } workflows { id name } }
  parent { id start } predecessor { id start } successor { id start }
  children(first: 10) { edges { cursor node { id start } } pageInfo { hasNextPage endCursor } }
`;

export const CREATE_KEY = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { ${KEY_FIELDS} } } }`;
export const UPDATE_KEY = `mutation($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { ${KEY_FIELDS} } }`;
export const REVOKE_KEY = `mutation($id: ID!, $reason: String) { revokeKey(id: $id, reason: $reason) { ${KEY_FIELDS} } }`;
export const GET_KEY = `query($id: ID!) { key(id: $id) { ${KEY_FIELDS} } }`;
export const CREATE_AGENT = `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id name upstreamUrl createdAt } }`;
export const CREATE_GROUP = `mutation($input: CreateAgentGroupInput!) { createAgentGroup(input: $input) { id name } }`;
export const CREATE_WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id name upstreamUrl } }`;
export const VIEWER = `{ viewer { key { id name permission master } account { id name } } }`;
export const AUDIT_EVENTS = `query($first: Int, $after: String, $filter: AuditFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id sequence action actor { id } targetType targetId ip before after createdAt hash } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export type KeyInput = Record<string, unknown> & { name: string; type: string };

/** Unwraps `data`, failing the test with the errors when there are any. */
export function ok<T = any>(res: GqlResult<T>): T {
  if (res.errors?.length || !res.data) {
    throw new Error(`expected success, got ${JSON.stringify(res.errors ?? res)}`);
  }
  return res.data;
}

/** Asserts exactly one GraphQL error with this code (and field, when given); returns it. */
export function expectError(res: GqlResult, code: string, field?: string): { message: string; extensions?: { code?: string; field?: string } } {
  expect(res.errors).toBeDefined();
  expect(res.errors!.map((e) => e.extensions?.code)).toEqual([code]);
  const err = res.errors![0];
  if (field !== undefined) {
    expect(err.extensions?.field).toBe(field);
    // The message names the field too, for people reading it in GraphiQL.
    expect(err.message).toContain(field);
  }
  return err;
}

export async function createKey(h: Harness, secret: string, input: KeyInput): Promise<{ secret: string; key: any }> {
  return ok(await h.gql(CREATE_KEY, { input }, secret)).createKey;
}

export async function createAgent(h: Harness, secret: string, input: { name: string; upstreamUrl?: string | null }): Promise<any> {
  return ok(await h.gql(CREATE_AGENT, { input }, secret)).createAgent;
}

export async function createGroup(h: Harness, secret: string, input: { name: string; agentIds: string[] }): Promise<any> {
  return ok(await h.gql(CREATE_GROUP, { input }, secret)).createAgentGroup;
}

export async function createWorkflow(h: Harness, secret: string, input: { name: string; agentIds?: string[]; upstreamUrl?: string | null }): Promise<any> {
  return ok(await h.gql(CREATE_WORKFLOW, { input }, secret)).createWorkflow;
}

/** What an account holds, read straight from the database (so a failed mutation can be shown to write nothing). */
export async function accountCounts(h: Harness, accountId: string) {
  const p = h.db.prisma;
  const [keys, agents, groups, workflows, audit, account] = await Promise.all([
    p.apiKey.count({ where: { accountId } }),
    p.agent.count({ where: { accountId } }),
    p.agentGroup.count({ where: { accountId } }),
    p.workflow.count({ where: { accountId } }),
    p.auditEvent.count({ where: { accountId } }),
    p.account.findUniqueOrThrow({ where: { id: accountId }, select: { auditSequence: true, auditHeadHash: true } }),
  ]);
  return { keys, agents, groups, workflows, audit, auditSequence: account.auditSequence, auditHeadHash: account.auditHeadHash };
}

/** Every audit event of the account through the API, newest first (follows the pages). */
export async function allAuditEvents(h: Harness, secret: string, filter?: Record<string, unknown>): Promise<any[]> {
  const out: any[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = ok(await h.gql(AUDIT_EVENTS, { first: 50, after, filter }, secret)).auditEvents;
    out.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

export const DAY_MS = 86_400_000;

/** Asserts `iso` lies within [from + days, to + days] (from/to bracket the call that set it). */
export function expectDaysAfter(iso: string | null, days: number, from: number, to: number): void {
  expect(iso).not.toBeNull();
  const t = new Date(iso!).getTime();
  expect(t).toBeGreaterThanOrEqual(from + days * DAY_MS - 1000);
  expect(t).toBeLessThanOrEqual(to + days * DAY_MS + 1000);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** CRC32 of `text` as 6 base62 characters, as the README's Keys section defines the checksum (computed here, not by the code under test). */
export function checksum(text: string): string {
  let n = zlib.crc32(Buffer.from(text, 'utf8')) >>> 0;
  let out = '';
  do {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(6, '0');
}

/** A well-formed secret with a correct checksum that no key was ever issued for. */
export function forgeSecret(env: 'dev' | 'prod' | 'int' | 'emg' | 'root' = 'prod'): string {
  const bytes = crypto.randomBytes(43);
  const body = [...bytes].map((b) => BASE62[b % 62]).join('');
  const head = `ak_${env}_${body}`;
  return head + checksum(head);
}

/** The same secret with its last checksum character changed. */
export function breakChecksum(secret: string): string {
  const last = secret[secret.length - 1];
  return secret.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}
