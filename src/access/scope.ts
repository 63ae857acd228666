import type { ScopeKind } from '../generated/prisma/enums';

// What a key's scope lets it reach. Membership (group agents, workflow agents) is resolved by the
// caller when the key is loaded, so this stays a plain function.

export interface ScopeRule {
  kind: ScopeKind;
  /** SINGLE_AGENT: the agent. */
  agentId?: string | null;
  /** AGENT_GROUP: members of the group. WORKFLOW: agents of the scoped workflows. */
  agentIds?: ReadonlySet<string>;
  /** WORKFLOW: the scoped workflows. */
  workflowIds?: ReadonlySet<string>;
}

export interface ScopeTarget {
  agentId?: string;
  workflowId?: string;
  /** The account the named agent/workflow belongs to; undefined when it does not exist. */
  targetAccountId?: string;
}

export function scopeAllows(rule: ScopeRule, keyAccountId: string, target: ScopeTarget): boolean {
  if (!target.agentId && !target.workflowId) return true;
  if (target.targetAccountId !== keyAccountId) return false;
  switch (rule.kind) {
    case 'ALL_AGENTS':
      return true;
    case 'SINGLE_AGENT':
      return !target.workflowId && target.agentId === rule.agentId;
    case 'AGENT_GROUP':
      return !target.workflowId && !!target.agentId && !!rule.agentIds?.has(target.agentId);
    case 'WORKFLOW':
      if (target.workflowId) return !!rule.workflowIds?.has(target.workflowId);
      return !!target.agentId && !!rule.agentIds?.has(target.agentId);
    default:
      return false;
  }
}
