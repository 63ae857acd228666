import { useState, type ReactNode } from 'react';
import { useQuery } from '../hooks';
import { href } from '../router';
import { formatDate } from '../format';
import { ErrorBanner, Loading, StatusBadge } from '../components/common';
import { DirectoryForm, type DirectoryItem, type DirectoryKind, type Named } from '../components/DirectoryForm';
import type { Connection, KeyRef } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

// Agents, agent groups and workflows: what keys are scoped to. Each row lists the keys scoped to
// it (as the API lists them: the caller's subtree for a MANAGE key); a master key or an operator
// creates and edits them (name, upstream URL, members), with the API's message by the field.

const SCOPED_KEYS = `keys(first: 5) { edges { node { id name start status } } pageInfo { hasNextPage } }`;
const QUERIES = {
  agent: `query Agents { agents(first: 100) { edges { node { id name upstreamUrl createdAt groups { id name } ${SCOPED_KEYS} } } } }`,
  group: `query AgentGroups { agentGroups(first: 100) { edges { node { id name agents { id name } ${SCOPED_KEYS} } } } }`,
  workflow: `query Workflows { workflows(first: 100) { edges { node { id name upstreamUrl agents { id name } ${SCOPED_KEYS} } } } }`,
};

type Row = DirectoryItem & { createdAt?: string; groups?: Named[]; keys: Connection<KeyRef> };

export function AgentsPage({ viewer }: { viewer: ViewerInfo }) {
  const agents = useQuery<{ agents: Connection<Row> }>(QUERIES.agent);
  const groups = useQuery<{ agentGroups: Connection<Row> }>(QUERIES.group);
  const workflows = useQuery<{ workflows: Connection<Row> }>(QUERIES.workflow);
  const [editing, setEditing] = useState<{ kind: DirectoryKind; id: string } | null>(null);
  if (!agents.data || !groups.data || !workflows.data) {
    const error = agents.error ?? groups.error ?? workflows.error;
    return error ? <ErrorBanner error={error} /> : <Loading what="agents" />;
  }
  const reload = () => {
    setEditing(null);
    agents.reload();
    groups.reload();
    workflows.reload();
  };
  const agentList = agents.data.agents.edges.map((e) => e.node);
  const section = (kind: DirectoryKind, rows: Row[]) => (
    <Section kind={kind} rows={rows} agents={agentList} mayWrite={powersOf(viewer).master} editing={editing?.kind === kind ? editing.id : null} onEdit={(id) => setEditing(id ? { kind, id } : null)} onDone={reload} />
  );
  return (
    <section>
      <div className="page-head">
        <h1>Agents and workflows</h1>
      </div>
      {section('agent', agentList)}
      {section(
        'group',
        groups.data.agentGroups.edges.map((e) => e.node),
      )}
      {section(
        'workflow',
        workflows.data.workflows.edges.map((e) => e.node),
      )}
    </section>
  );
}

const HEADINGS: Record<DirectoryKind, { title: string; table: string; members: string | null }> = {
  agent: { title: 'Agents', table: 'Agents', members: 'groups' },
  group: { title: 'Agent groups', table: 'Agent groups', members: 'agents' },
  workflow: { title: 'Workflows', table: 'Workflows', members: 'agents' },
};

function Section(props: { kind: DirectoryKind; rows: Row[]; agents: Named[]; mayWrite: boolean; editing: string | null; onEdit: (id: string | null) => void; onDone: () => void }) {
  const { kind, rows, agents, editing } = props;
  const h = HEADINGS[kind];
  const edited = rows.find((r) => r.id === editing);
  return (
    <>
      <h2>{h.title}</h2>
      <table aria-label={h.table}>
        <thead>
          <tr>
            <th>name</th>
            {kind !== 'group' && <th>upstream URL</th>}
            <th>{h.members}</th>
            <th>keys scoped to it</th>
            {kind === 'agent' && <th>created</th>}
            {props.mayWrite && <th>actions</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>{r.name}</td>
              {kind !== 'group' && <td>{r.upstreamUrl ?? <span className="muted">none</span>}</td>}
              <td>{(kind === 'agent' ? r.groups : r.agents)?.map((m) => m.name).join(', ')}</td>
              <td>
                <KeyLinks keys={r.keys} />
              </td>
              {kind === 'agent' && <td>{formatDate(r.createdAt ?? null)}</td>}
              {props.mayWrite && (
                <td>
                  <button type="button" aria-label={`Edit ${r.name}`} onClick={() => props.onEdit(r.id)}>
                    Edit
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {props.mayWrite && edited && <DirectoryForm key={edited.id} kind={kind} agents={agents} editing={edited} onDone={props.onDone} onCancel={() => props.onEdit(null)} />}
      {props.mayWrite && !edited && <DirectoryForm kind={kind} agents={agents} onDone={props.onDone} />}
    </>
  );
}

function KeyLinks({ keys }: { keys: Connection<KeyRef> }) {
  if (keys.edges.length === 0) return <span className="muted">none</span>;
  const links: ReactNode[] = keys.edges.map(({ node: k }, i) => (
    <span key={k.id}>
      {i > 0 && ', '}
      <a href={href({ page: 'key', id: k.id })}>{k.name}</a> {k.status !== 'ACTIVE' && <StatusBadge status={k.status} />}
    </span>
  ));
  return (
    <>
      {links}
      {keys.pageInfo.hasNextPage && <span className="muted"> and more</span>}
    </>
  );
}
