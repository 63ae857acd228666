import { useState, type FormEvent } from 'react';
import { GraphQLRequestError, errorText, gql } from '../api';
import { useQuery } from '../hooks';
import { href } from '../router';
import { formatDate } from '../format';
import { ErrorBanner, FieldWithError, Loading } from '../components/common';
import type { Connection } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

// Agents, agent groups and workflows: what keys are scoped to. Each lists the keys scoped to it;
// a master key creates them. The API's checks (names, upstream URLs, agent ids) are the only ones:
// its message is shown next to the field it names.

const DIRECTORY_QUERY = `query Directory {
  agents(first: 100) { edges { node { id name upstreamUrl createdAt groups { id name } } } }
  agentGroups(first: 100) { edges { node { id name agents { id name } } } }
  workflows(first: 100) { edges { node { id name upstreamUrl agents { id name } } } }
  keys(first: 100, filter: { status: ACTIVE }) { edges { node { id name start scope { kind agent { id } group { id } workflows { id } } } } }
}`;

interface Named {
  id: string;
  name: string;
}
interface ScopedKey extends Named {
  start: string;
  scope: { kind: string; agent: { id: string } | null; group: { id: string } | null; workflows: { id: string }[] };
}
interface Directory {
  agents: Connection<Named & { upstreamUrl: string | null; createdAt: string; groups: Named[] }>;
  agentGroups: Connection<Named & { agents: Named[] }>;
  workflows: Connection<Named & { upstreamUrl: string | null; agents: Named[] }>;
  keys: Connection<ScopedKey>;
}

const CREATE = {
  agent: `mutation CreateAgent($input: CreateAgentInput!) { createAgent(input: $input) { id } }`,
  group: `mutation CreateAgentGroup($input: CreateAgentGroupInput!) { createAgentGroup(input: $input) { id } }`,
  workflow: `mutation CreateWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`,
};

type Kind = keyof typeof CREATE;

function keysScopedTo(keys: ScopedKey[], kind: Kind, id: string): ScopedKey[] {
  return keys.filter((k) => (kind === 'agent' ? k.scope.agent?.id === id : kind === 'group' ? k.scope.group?.id === id : k.scope.workflows.some((w) => w.id === id)));
}

export function AgentsPage({ viewer }: { viewer: ViewerInfo }) {
  const { data, error, loading, reload } = useQuery<Directory>(DIRECTORY_QUERY);
  if (loading && !data) return <Loading what="agents" />;
  if (!data) return <ErrorBanner error={error} />;
  const agents = data.agents.edges.map((e) => e.node);
  const keys = data.keys.edges.map((e) => e.node);
  const scoped = (kind: Kind, id: string) => <KeyLinks keys={keysScopedTo(keys, kind, id)} />;
  return (
    <section>
      <div className="page-head">
        <h1>Agents and workflows</h1>
      </div>
      <ErrorBanner error={error} />
      <h2>Agents</h2>
      <table aria-label="Agents">
        <thead>
          <tr>
            <th>name</th>
            <th>upstream URL</th>
            <th>groups</th>
            <th>keys scoped to it</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a.id}>
              <td>{a.name}</td>
              <td>{a.upstreamUrl ?? <span className="muted">none</span>}</td>
              <td>{a.groups.map((g) => g.name).join(', ')}</td>
              <td>{scoped('agent', a.id)}</td>
              <td>{formatDate(a.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {powersOf(viewer).master && <CreateForm kind="agent" agents={[]} onCreated={reload} />}

      <h2>Agent groups</h2>
      <table aria-label="Agent groups">
        <thead>
          <tr>
            <th>name</th>
            <th>agents</th>
            <th>keys scoped to it</th>
          </tr>
        </thead>
        <tbody>
          {data.agentGroups.edges.map(({ node: g }) => (
            <tr key={g.id}>
              <td>{g.name}</td>
              <td>{g.agents.map((a) => a.name).join(', ')}</td>
              <td>{scoped('group', g.id)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {powersOf(viewer).master && <CreateForm kind="group" agents={agents} onCreated={reload} />}

      <h2>Workflows</h2>
      <table aria-label="Workflows">
        <thead>
          <tr>
            <th>name</th>
            <th>upstream URL</th>
            <th>agents</th>
            <th>keys scoped to it</th>
          </tr>
        </thead>
        <tbody>
          {data.workflows.edges.map(({ node: w }) => (
            <tr key={w.id}>
              <td>{w.name}</td>
              <td>{w.upstreamUrl ?? <span className="muted">none</span>}</td>
              <td>{w.agents.map((a) => a.name).join(', ')}</td>
              <td>{scoped('workflow', w.id)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {powersOf(viewer).master && <CreateForm kind="workflow" agents={agents} onCreated={reload} />}
    </section>
  );
}

function KeyLinks({ keys }: { keys: ScopedKey[] }) {
  if (keys.length === 0) return <span className="muted">none</span>;
  return (
    <>
      {keys.map((k, i) => (
        <span key={k.id}>
          {i > 0 && ', '}
          <a href={href({ page: 'key', id: k.id })}>{k.name}</a>
        </span>
      ))}
    </>
  );
}

const TITLES: Record<Kind, string> = { agent: 'New agent', group: 'New agent group', workflow: 'New workflow' };

/** A create form; the API's error goes next to the field it names (extensions.field), or above the form. */
function CreateForm({ kind, agents, onCreated }: { kind: Kind; agents: Named[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [upstreamUrl, setUpstreamUrl] = useState('');
  const [members, setMembers] = useState<Set<string>>(new Set());
  const [errors, setErrors] = useState<{ field?: string; message: string } | null>(null);
  const [pending, setPending] = useState(false);
  const id = (f: string) => `${kind}-${f}`;
  const fieldError = (f: string) => (errors?.field === `input.${f}` || errors?.field?.startsWith(`input.${f}[`) ? errors.message : null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setPending(true);
    setErrors(null);
    const input: Record<string, unknown> = { name };
    if (kind !== 'group') input.upstreamUrl = upstreamUrl.trim() || null;
    if (kind !== 'agent') input.agentIds = [...members];
    try {
      await gql(CREATE[kind], { input });
      setName('');
      setUpstreamUrl('');
      setMembers(new Set());
      onCreated();
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
    <form className="create-form" onSubmit={submit} aria-label={TITLES[kind]}>
      <h3>{TITLES[kind]}</h3>
      <ErrorBanner error={unplaced} />
      <FieldWithError id={id('name')} label="Name" error={fieldError('name')}>
        <input id={id('name')} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!fieldError('name')} aria-describedby={fieldError('name') ? `${id('name')}-error` : undefined} />
      </FieldWithError>
      {kind !== 'group' && (
        <FieldWithError id={id('upstreamUrl')} label="Upstream URL" error={fieldError('upstreamUrl')}>
          <input
            id={id('upstreamUrl')}
            value={upstreamUrl}
            placeholder="https://agent.internal:8443"
            onChange={(e) => setUpstreamUrl(e.target.value)}
            aria-invalid={!!fieldError('upstreamUrl')}
            aria-describedby={fieldError('upstreamUrl') ? `${id('upstreamUrl')}-error` : undefined}
          />
        </FieldWithError>
      )}
      {kind !== 'agent' && (
        <fieldset className="members">
          <legend>Agents</legend>
          {agents.length === 0 && <span className="muted">No agents yet.</span>}
          {agents.map((a) => (
            <label key={a.id} className="check">
              <input type="checkbox" checked={members.has(a.id)} onChange={() => toggle(a.id)} /> {a.name}
            </label>
          ))}
          {fieldError('agentIds') && (
            <span className="field-error" role="alert">
              {fieldError('agentIds')}
            </span>
          )}
        </fieldset>
      )}
      <button type="submit" className="primary" disabled={pending}>
        Create {kind === 'group' ? 'group' : kind}
      </button>
    </form>
  );
}
