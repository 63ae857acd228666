import { useState, type FormEvent } from 'react';
import { GraphQLRequestError, errorText, gql } from '../api';
import { ErrorBanner, FieldWithError } from './common';

// The create and edit form of an agent, agent group or workflow. The API's checks (names, upstream
// URLs, agent ids) are the only ones: its message is shown next to the field it names
// (extensions.field), or above the form when it names none.

export type DirectoryKind = 'agent' | 'group' | 'workflow';

export interface Named {
  id: string;
  name: string;
}

/** What an edit form starts from. */
export interface DirectoryItem extends Named {
  upstreamUrl?: string | null;
  agents?: Named[];
}

const MUTATIONS: Record<DirectoryKind, { create: string; update: string }> = {
  agent: {
    create: `mutation CreateAgent($input: CreateAgentInput!) { createAgent(input: $input) { id } }`,
    update: `mutation UpdateAgent($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { id } }`,
  },
  group: {
    create: `mutation CreateAgentGroup($input: CreateAgentGroupInput!) { createAgentGroup(input: $input) { id } }`,
    update: `mutation UpdateAgentGroup($id: ID!, $input: UpdateAgentGroupInput!) { updateAgentGroup(id: $id, input: $input) { id } }`,
  },
  workflow: {
    create: `mutation CreateWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`,
    update: `mutation UpdateWorkflow($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { id } }`,
  },
};

const NOUN: Record<DirectoryKind, string> = { agent: 'agent', group: 'agent group', workflow: 'workflow' };

type FieldErrors = { field?: string; message: string } | null;

/** A create form (no `editing`) or the edit form of `editing`; `onDone` after the API accepted it. */
export function DirectoryForm({ kind, agents, editing, onDone, onCancel }: { kind: DirectoryKind; agents: Named[]; editing?: DirectoryItem; onDone: () => void; onCancel?: () => void }) {
  const [name, setName] = useState(editing?.name ?? '');
  const [upstreamUrl, setUpstreamUrl] = useState(editing?.upstreamUrl ?? '');
  const [members, setMembers] = useState<Set<string>>(() => new Set(editing?.agents?.map((a) => a.id) ?? []));
  const [errors, setErrors] = useState<FieldErrors>(null);
  const [pending, setPending] = useState(false);
  const prefix = editing ? `edit-${kind}-${editing.id}` : kind;
  const id = (f: string) => `${prefix}-${f}`;
  const fieldError = (f: string) => (errors?.field === `input.${f}` || errors?.field?.startsWith(`input.${f}[`) ? errors.message : null);
  const title = editing ? `Edit ${NOUN[kind]} ${editing.name}` : `New ${NOUN[kind]}`;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setPending(true);
    setErrors(null);
    const input: Record<string, unknown> = { name };
    if (kind !== 'group') input.upstreamUrl = upstreamUrl.trim() || null;
    if (kind !== 'agent') input.agentIds = [...members];
    try {
      await gql(editing ? MUTATIONS[kind].update : MUTATIONS[kind].create, editing ? { id: editing.id, input } : { input });
      if (!editing) {
        setName('');
        setUpstreamUrl('');
        setMembers(new Set());
      }
      onDone();
    } catch (err) {
      setErrors({ field: err instanceof GraphQLRequestError ? err.field : undefined, message: errorText(err) });
    } finally {
      setPending(false);
    }
  };
  const toggle = (agentId: string) =>
    setMembers((prev) => {
      const next = new Set(prev);
      if (next.has(agentId)) next.delete(agentId);
      else next.add(agentId);
      return next;
    });
  const unplaced = errors && !['name', 'upstreamUrl', 'agentIds'].some((f) => fieldError(f)) ? errors.message : null;
  return (
    <form className="create-form" onSubmit={submit} aria-label={title}>
      <h3>{title}</h3>
      <ErrorBanner error={unplaced} />
      <TextField id={id('name')} label="Name" value={name} onChange={setName} error={fieldError('name')} />
      {kind !== 'group' && <TextField id={id('upstreamUrl')} label="Upstream URL" value={upstreamUrl} onChange={setUpstreamUrl} error={fieldError('upstreamUrl')} placeholder="https://agent.internal:8443" />}
      {kind !== 'agent' && (
        <fieldset className="members" aria-describedby={fieldError('agentIds') ? id('agentIds-error') : undefined}>
          <legend>Agents</legend>
          {agents.length === 0 && <span className="muted">No agents yet.</span>}
          {agents.map((a) => (
            <label key={a.id} className="check">
              <input type="checkbox" checked={members.has(a.id)} onChange={() => toggle(a.id)} /> {a.name}
            </label>
          ))}
          {fieldError('agentIds') && (
            <span className="field-error" id={id('agentIds-error')} role="alert">
              {fieldError('agentIds')}
            </span>
          )}
        </fieldset>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          {editing ? 'Save' : `Create ${kind === 'group' ? 'group' : kind}`}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function TextField({ id, label, value, onChange, error, placeholder }: { id: string; label: string; value: string; onChange: (v: string) => void; error: string | null; placeholder?: string }) {
  return (
    <FieldWithError id={id} label={label} error={error}>
      <input id={id} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} aria-invalid={!!error} aria-describedby={error ? `${id}-error` : undefined} />
    </FieldWithError>
  );
}
