import { useQuery } from '../hooks';
import { ErrorBanner, Field } from './common';
import type { Connection } from '../types';

// Which agents a key may reach: all, one agent, one group, or some workflows (README, Dashboard).

const TARGETS_QUERY = `query Targets {
  agents(first: 100) { edges { node { id name } } }
  agentGroups(first: 100) { edges { node { id name } } }
  workflows(first: 100) { edges { node { id name } } }
}`;

type Named = { id: string; name: string };
export type ScopeKind = '' | 'ALL_AGENTS' | 'SINGLE_AGENT' | 'AGENT_GROUP' | 'WORKFLOW';
export interface ScopeChoice {
  kind: ScopeKind;
  agentId: string;
  groupId: string;
  workflowIds: string[];
}

export const NO_SCOPE_CHOICE: ScopeChoice = { kind: '', agentId: '', groupId: '', workflowIds: [] };

/** The ScopeInput for a choice, undefined for "as default", or the field that is missing. */
export function scopeInput(c: ScopeChoice): { scope?: Record<string, unknown> } | { error: string } {
  switch (c.kind) {
    case '':
      return {};
    case 'ALL_AGENTS':
      return { scope: { kind: 'ALL_AGENTS' } };
    case 'SINGLE_AGENT':
      return c.agentId ? { scope: { kind: 'SINGLE_AGENT', agentId: c.agentId } } : { error: 'Scope: choose the agent.' };
    case 'AGENT_GROUP':
      return c.groupId ? { scope: { kind: 'AGENT_GROUP', groupId: c.groupId } } : { error: 'Scope: choose the agent group.' };
    case 'WORKFLOW':
      return c.workflowIds.length ? { scope: { kind: 'WORKFLOW', workflowIds: c.workflowIds } } : { error: 'Scope: choose at least one workflow.' };
  }
}

export function ScopePicker({ value, onChange, defaultLabel }: { value: ScopeChoice; onChange: (c: ScopeChoice) => void; defaultLabel: string }) {
  const targets = useQuery<{ agents: Connection<Named>; agentGroups: Connection<Named>; workflows: Connection<Named> }>(TARGETS_QUERY);
  const list = (c: Connection<Named> | undefined) => c?.edges.map((e) => e.node) ?? [];
  const set = (patch: Partial<ScopeChoice>) => onChange({ ...value, ...patch });
  return (
    <fieldset>
      <legend>Scope</legend>
      <div className="inline">
        <select name="scopeKind" aria-label="Scope" value={value.kind} onChange={(e) => set({ kind: e.target.value as ScopeKind })}>
          <option value="">{defaultLabel}</option>
          <option value="ALL_AGENTS">all agents</option>
          <option value="SINGLE_AGENT">one agent</option>
          <option value="AGENT_GROUP">an agent group</option>
          <option value="WORKFLOW">workflows</option>
        </select>
        {value.kind === 'SINGLE_AGENT' && (
          <select name="agentId" aria-label="Agent" value={value.agentId} onChange={(e) => set({ agentId: e.target.value })}>
            <option value="">choose…</option>
            {list(targets.data?.agents).map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        )}
        {value.kind === 'AGENT_GROUP' && (
          <select name="groupId" aria-label="Agent group" value={value.groupId} onChange={(e) => set({ groupId: e.target.value })}>
            <option value="">choose…</option>
            {list(targets.data?.agentGroups).map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        )}
      </div>
      {value.kind === 'WORKFLOW' && (
        <Field label="Workflows">
          <select
            name="workflowIds"
            multiple
            size={Math.min(6, Math.max(2, list(targets.data?.workflows).length))}
            value={value.workflowIds}
            onChange={(e) => set({ workflowIds: [...e.target.selectedOptions].map((o) => o.value) })}
          >
            {list(targets.data?.workflows).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </Field>
      )}
      <ErrorBanner error={targets.error} />
    </fieldset>
  );
}
