import type { Permission } from '../generated/prisma/enums';
import { decide, type VerifyCode } from '../access/decide';
import { clock } from '../infra/clock';
import { digestSecret, parseSecret } from '../keys/secret';
import type { KeyCache } from './cache';
import type { TargetDirectory } from './targets';
import type { UseRecorder } from './effects';

// POST /v1/keys/verify without the HTTP: checksum -> cache (or one read) -> policy -> answer.

export interface VerifyInput {
  key: string;
  agentId?: string;
  workflowId?: string;
  permission: Permission;
  ip?: string;
  cost: number;
  bytes: number;
}

export interface VerifyResult {
  valid: boolean;
  code: VerifyCode;
  keyId: string | null;
  accountId: string | null;
  permission: Permission | null;
  scope: { kind: string; agentId: string | null; groupAgentIds?: string[]; workflowIds: string[] } | null;
  expiresAt: string | null;
  ratelimits: { window: string; limit: number; remaining: number; reset: number }[];
  quota: { limit: number; remaining: number; reset: number } | null;
}

export interface VerifyDeps {
  cache: KeyCache;
  targets: TargetDirectory;
  uses?: UseRecorder;
}

const NOT_FOUND: VerifyResult = Object.freeze({
  valid: false,
  code: 'NOT_FOUND',
  keyId: null,
  accountId: null,
  permission: null,
  scope: null,
  expiresAt: null,
  ratelimits: [],
  quota: null,
}) as VerifyResult;

export async function verifyKey(deps: VerifyDeps, input: VerifyInput): Promise<VerifyResult> {
  // A wrong checksum is rejected here, before any cache or database read.
  if (!parseSecret(input.key)) return NOT_FOUND;
  const key = await deps.cache.get(digestSecret(input.key));
  if (!key) return NOT_FOUND;

  let targetAccountId: string | undefined;
  if (input.workflowId) targetAccountId = await deps.targets.accountOf('workflow', input.workflowId);
  else if (input.agentId) targetAccountId = await deps.targets.accountOf('agent', input.agentId);

  const code = decide(
    key,
    { permission: input.permission, ip: input.ip, agentId: input.agentId?.toLowerCase(), workflowId: input.workflowId?.toLowerCase(), targetAccountId },
    clock.nowMs(),
  );
  if (code === 'VALID') deps.uses?.onValid(key, input.ip);
  return {
    valid: code === 'VALID',
    code,
    keyId: key.id,
    accountId: key.accountId,
    permission: key.effectivePermission,
    scope: { kind: key.scopeKind, agentId: key.scopeAgentId, workflowIds: key.scopeWorkflowIds },
    expiresAt: key.expiresAt ? key.expiresAt.toISOString() : null,
    ratelimits: [],
    quota: null,
  };
}
