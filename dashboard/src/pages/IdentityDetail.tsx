import { useState } from 'react';
import { formErrorOf, useFormMutation, useMutation, useQuery } from '../hooks';
import { href, navigate } from '../router';
import { formatDate } from '../format';
import { type Credits, creditsText, IDENTITY_PATHS, identityForm, identityInput, type IdentityValues } from '../grants';
import { fillBuckets, usageRange } from '../usage';
import { DialogActions, ErrorBanner, Loading, Modal, StatusBadge } from '../components/common';
import { IdentityFields } from '../components/IdentityFields';
import { GranularitySwitch, UsageChart } from '../components/UsageChart';
import { KeyLink, Row } from './KeyDetail';
import type { Connection, KeyStatus, UsagePoint } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

// One identity: its keys, the limits they share, its metadata and its usage. A master key edits
// the shared limits and deletes it (the API refuses while keys that are not revoked hold it).

const IDENTITY_QUERY = `query IdentityDetail($id: ID!) {
  identity(id: $id) {
    id externalId metadata createdAt rateLimits { window limit } quota { units period }
    keys(first: 50) { edges { node { id name start status permissions effectivePermissions roles { id name } credits { remaining refill { amount interval day } } } } }
  }
}`;
const USAGE_QUERY = `query IdentityUsage($id: ID!, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity!) {
  identity(id: $id) { id usage(from: $from, to: $to, granularity: $granularity) { start requests allowed denied units bytes } }
}`;
const UPDATE = `mutation UpdateIdentity($id: ID!, $input: UpdateIdentityInput!) { updateIdentity(id: $id, input: $input) { id } }`;
const DELETE = `mutation DeleteIdentity($id: ID!) { deleteIdentity(id: $id) }`;

interface IdentityKey {
  id: string;
  name: string;
  start: string;
  status: KeyStatus;
  permissions: string[];
  effectivePermissions: string[];
  roles: { id: string; name: string }[];
  credits: Credits | null;
}
interface Identity extends IdentityValues {
  id: string;
  createdAt: string;
  keys: Connection<IdentityKey>;
}

export function IdentityDetailPage({ id, viewer }: { id: string; viewer: ViewerInfo }) {
  const { data, error, loading, reload } = useQuery<{ identity: Identity | null }>(IDENTITY_QUERY, { id });
  const [dialog, setDialog] = useState<'edit' | 'delete' | null>(null);
  if (loading && !data) return <Loading what="the identity" />;
  if (!data) return <ErrorBanner error={error} />;
  const identity = data.identity;
  if (!identity) return <ErrorBanner error={`No identity ${id} in this account.`} />;
  const keys = identity.keys.edges.map((e) => e.node);
  return (
    <section>
      <div className="page-head">
        <div>
          <h1>{identity.externalId}</h1>
          <div className="muted">identity · created {formatDate(identity.createdAt)}</div>
        </div>
        {powersOf(viewer).master && (
          <div className="actions">
            <a className="button" href={href({ page: 'new-key', identityId: identity.id })}>
              New key for {identity.externalId}
            </a>
            <button type="button" onClick={() => setDialog('edit')}>
              Edit
            </button>
            <button type="button" className="danger" onClick={() => setDialog('delete')}>
              Delete
            </button>
          </div>
        )}
      </div>
      <ErrorBanner error={error} />
      <div className="grid">
        <dl className="card settings">
          <h2>Shared limits</h2>
          <p className="hint">Counted for all of its keys together, beside each key's own.</p>
          <Row label="rate limits">{identity.rateLimits.length ? identity.rateLimits.map((r) => `${r.limit}/${r.window.toLowerCase()}`).join(', ') : 'none'}</Row>
          <Row label="quota">{identity.quota ? `${identity.quota.units} units per ${identity.quota.period.toLowerCase()}` : 'none'}</Row>
        </dl>
        <div className="card">
          <h2>Metadata</h2>
          {identity.metadata == null ? <p className="muted">None.</p> : <pre data-testid="identity-metadata">{JSON.stringify(identity.metadata, null, 2)}</pre>}
        </div>
      </div>
      <IdentityKeys keys={keys} />
      <IdentityUsage id={identity.id} />
      {dialog === 'edit' && (
        <EditIdentityDialog
          identity={identity}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            reload();
          }}
        />
      )}
      {dialog === 'delete' && <DeleteIdentityDialog identity={identity} liveKeys={keys.filter((k) => k.status !== 'REVOKED').length} onClose={() => setDialog(null)} />}
    </section>
  );
}

function IdentityKeys({ keys }: { keys: IdentityKey[] }) {
  return (
    <div className="card">
      <h2>Keys ({keys.length})</h2>
      {keys.length === 0 ? (
        <p className="muted">No keys yet.</p>
      ) : (
        <table data-testid="identity-keys">
          <thead>
            <tr>
              <th>key</th>
              <th>status</th>
              <th>permissions</th>
              <th>roles</th>
              <th>credits</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>
                  <KeyLink k={k} />
                </td>
                <td>
                  <StatusBadge status={k.status} />
                </td>
                <td className="mono">{k.effectivePermissions.join(', ') || '—'}</td>
                <td>{k.roles.map((r) => r.name).join(', ') || '—'}</td>
                <td>{creditsText(k.credits)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function IdentityUsage({ id }: { id: string }) {
  const [granularity, setGranularity] = useState<'HOUR' | 'DAY'>('DAY');
  const [range] = useState(() => ({ HOUR: usageRange('HOUR'), DAY: usageRange('DAY') }));
  const { data, error } = useQuery<{ identity: { usage: UsagePoint[] } | null }>(USAGE_QUERY, { id, granularity, ...range[granularity] });
  return (
    <div className="card">
      <div className="page-head">
        <h2>Usage (all of its keys)</h2>
        <GranularitySwitch value={granularity} onChange={setGranularity} />
      </div>
      <ErrorBanner error={error} />
      {data?.identity && <UsageChart points={fillBuckets(data.identity.usage, range[granularity].from, range[granularity].to, granularity)} granularity={granularity} />}
    </div>
  );
}

function EditIdentityDialog({ identity, onClose, onSaved }: { identity: Identity; onClose: () => void; onSaved: () => void }) {
  const [start] = useState(() => identityForm(identity));
  const [form, setForm] = useState(start);
  const update = useFormMutation<{ updateIdentity: { id: string } }>(UPDATE);
  const save = async () => {
    let input: Record<string, unknown>;
    try {
      input = identityInput(form, start);
    } catch (err) {
      return update.setError(formErrorOf(err));
    }
    if (Object.keys(input).length === 0) return onClose();
    if (await update.run({ id: identity.id, input })) onSaved();
  };
  return (
    <Modal title={`Edit ${identity.externalId}`} onClose={onClose}>
      <div className="form">
        <IdentityFields value={form} onChange={setForm} errors={update.errors} idPrefix="edit-identity" />
      </div>
      <ErrorBanner error={update.errors.elsewhere(IDENTITY_PATHS)} />
      <DialogActions onCancel={onClose} onConfirm={save} pending={update.pending} confirm="Save changes" />
    </Modal>
  );
}

function DeleteIdentityDialog({ identity, liveKeys, onClose }: { identity: Identity; liveKeys: number; onClose: () => void }) {
  const del = useMutation<{ deleteIdentity: boolean }>(DELETE);
  const submit = async () => {
    if (await del.run({ id: identity.id })) navigate({ page: 'identities' });
  };
  return (
    <Modal title={`Delete ${identity.externalId}`} onClose={onClose}>
      <p className="warning">{liveKeys ? `It still has ${liveKeys} key(s) that are not revoked: Keywarden refuses until they are revoked.` : 'Its shared limits go with it. This cannot be undone.'}</p>
      <ErrorBanner error={del.error} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={del.pending} danger confirm="Delete identity" />
    </Modal>
  );
}
