import { useState } from 'react';
import { useMutation, useQuery } from '../hooks';
import { href } from '../router';
import { formatBytes, formatDate, permissionLabel, relativeTime } from '../format';
import { fillBuckets, usageRange } from '../usage';
import { DialogActions, ErrorBanner, GraceSelect, HealthBadges, IssuedKeyReveal, Loading, Modal, Segmented, StatusBadge } from '../components/common';
import { UsageChart } from '../components/UsageChart';
import { EditKeyDialog } from './EditKey';
import type { KeyRef, KeySecretPayload, KeyStatus, KeyType, Permission, UsagePoint } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

const KEY_QUERY = `query KeyDetail($id: ID!, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity!) {
  key(id: $id) {
    id name start type master status permission effectivePermission createdAt expiresAt lastUsedAt
    revokedAt revokedReason graceEndsAt rotationDueAt rotationPeriodDays
    scope { kind agent { id name } group { id name } workflows { id name } }
    ipAllowlist rateLimits { window limit } quota { units period } bandwidth { bytes period } maxConcurrent
    accessWindows { days start end timeZone } allowedCountries condition metadata
    parent { id name start status } predecessor { id name start status } successor { id name start status }
    children(first: 100) { edges { node { id name start status } } }
    descendantCount
    usage(from: $from, to: $to, granularity: $granularity) { start requests allowed denied units bytes }
    securityEvents(first: 20) { edges { node { id kind severity ip createdAt acknowledgedAt } } }
    recentAccess(first: 20) { at code ip country agentId workflowId }
  }
  auditEvents(first: 20, filter: { keyId: $id }) { edges { node { id sequence action createdAt ip targetId actor { id name start } actorOperator { id email name } } } }
}`;

const ROTATE = `mutation Rotate($id: ID!, $grace: Int) { rotateKey(id: $id, gracePeriodSeconds: $grace) { secret key { id name start status } } }`;
const REVOKE = `mutation Revoke($id: ID!, $reason: String) { revokeKey(id: $id, reason: $reason) { id status } }`;

interface KeyDetail {
  id: string;
  name: string;
  start: string;
  type: KeyType;
  master: boolean;
  status: KeyStatus;
  permission: Permission;
  effectivePermission: Permission;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  graceEndsAt: string | null;
  rotationDueAt: string | null;
  rotationPeriodDays: number | null;
  scope: { kind: string; agent: { id: string; name: string } | null; group: { id: string; name: string } | null; workflows: { id: string; name: string }[] };
  ipAllowlist: string[];
  rateLimits: { window: string; limit: number }[];
  quota: { units: number; period: string } | null;
  bandwidth: { bytes: number; period: string } | null;
  maxConcurrent: number | null;
  accessWindows: { days: string[]; start: string; end: string; timeZone: string }[];
  allowedCountries: string[];
  condition: string | null;
  metadata: unknown;
  parent: KeyRef | null;
  predecessor: KeyRef | null;
  successor: KeyRef | null;
  children: { edges: { node: KeyRef }[] };
  descendantCount: number;
  usage: UsagePoint[];
  securityEvents: { edges: { node: { id: string; kind: string; severity: string; ip: string | null; createdAt: string; acknowledgedAt: string | null } }[] };
  recentAccess: { at: string; code: string; ip: string | null; country: string | null; agentId: string | null; workflowId: string | null }[];
}

interface AuditRow {
  id: string;
  sequence: number;
  action: string;
  createdAt: string;
  ip: string | null;
  targetId: string | null;
  actor: KeyRef | null;
  actorOperator: { id: string; email: string; name: string | null } | null;
}

export function KeyDetailPage({ id, viewer }: { id: string; viewer: ViewerInfo }) {
  const [granularity, setGranularity] = useState<'HOUR' | 'DAY'>('HOUR');
  const [range] = useState(() => ({ HOUR: usageRange('HOUR'), DAY: usageRange('DAY') }));
  const [dialog, setDialog] = useState<'edit' | 'rotate' | 'revoke' | null>(null);
  const [secret, setSecret] = useState<KeySecretPayload | null>(null);
  const { data, error, loading, reload } = useQuery<{ key: KeyDetail; auditEvents: { edges: { node: AuditRow }[] } }>(KEY_QUERY, { id, granularity, ...range[granularity] });

  if (loading && !data) return <Loading what="the key" />;
  if (!data) return <ErrorBanner error={error} />;
  const k = data.key;
  const powers = powersOf(viewer);
  // An AUDITOR reads everything here and is offered no change.
  const usable = powers.write && (k.status === 'ACTIVE' || k.status === 'ROTATING');
  const mayDerive = usable && (k.effectivePermission === 'MANAGE' || k.effectivePermission === 'FULL_ACCESS' || powers.master);
  const points = fillBuckets(k.usage, range[granularity].from, range[granularity].to, granularity);

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>{k.name}</h1>
          <div className="mono muted">{k.start}…</div>
        </div>
        <div className="actions">
          {mayDerive && (
            <a className="button" href={href({ page: 'new-key', parentId: k.id })}>
              Derive key
            </a>
          )}
          {usable && (
            <button type="button" onClick={() => setDialog('edit')}>
              Edit
            </button>
          )}
          {powers.write && k.status === 'ACTIVE' && (
            <button type="button" onClick={() => setDialog('rotate')}>
              Rotate
            </button>
          )}
          {powers.write && k.status !== 'REVOKED' && (
            <button type="button" className="danger" onClick={() => setDialog('revoke')}>
              Revoke
            </button>
          )}
        </div>
      </div>
      <ErrorBanner error={error} />
      <div className="badges">
        <StatusBadge status={k.status} />
        <HealthBadges keyInfo={k} />
        {k.master && <span className="badge master">master</span>}
      </div>

      <div className="grid">
        <dl className="card settings">
          <h2>Settings</h2>
          <Row label="type">{k.type.toLowerCase()}</Row>
          <Row label="permission">
            {permissionLabel(k.effectivePermission)}
            {k.permission !== k.effectivePermission && <span className="muted"> (set: {permissionLabel(k.permission)}, narrowed by an ancestor)</span>}
          </Row>
          <Row label="scope">
            {k.scope.kind.toLowerCase().replace('_', ' ')}
            {k.scope.agent && `: ${k.scope.agent.name}`}
            {k.scope.group && `: ${k.scope.group.name}`}
            {k.scope.workflows.length > 0 && `: ${k.scope.workflows.map((w) => w.name).join(', ')}`}
          </Row>
          <Row label="created">{formatDate(k.createdAt)}</Row>
          <Row label="expires">{k.expiresAt ? `${formatDate(k.expiresAt)} (${relativeTime(k.expiresAt)})` : 'never'}</Row>
          <Row label="last used">{k.lastUsedAt ? `${formatDate(k.lastUsedAt)} (${relativeTime(k.lastUsedAt)})` : 'never'}</Row>
          <Row label="rotation due">{k.rotationDueAt ? formatDate(k.rotationDueAt) : k.type === 'EMERGENCY' ? 'after each use' : '—'}</Row>
          {k.graceEndsAt && <Row label="grace ends">{formatDate(k.graceEndsAt)}</Row>}
          {k.revokedAt && (
            <Row label="revoked">
              {formatDate(k.revokedAt)}
              {k.revokedReason && `: ${k.revokedReason}`}
            </Row>
          )}
          <Row label="rate limits">{k.rateLimits.length ? k.rateLimits.map((r) => `${r.limit}/${r.window.toLowerCase()}`).join(', ') : 'none'}</Row>
          <Row label="quota">{k.quota ? `${k.quota.units} units per ${k.quota.period.toLowerCase()}` : 'none'}</Row>
          <Row label="bandwidth">{k.bandwidth ? `${formatBytes(k.bandwidth.bytes)} per ${k.bandwidth.period.toLowerCase()}` : 'none'}</Row>
          <Row label="concurrency">{k.maxConcurrent ?? 'unlimited'}</Row>
          <Row label="IP allowlist">{k.ipAllowlist.length ? k.ipAllowlist.join(', ') : 'any'}</Row>
          <Row label="countries">{k.allowedCountries.length ? k.allowedCountries.join(', ') : 'any'}</Row>
          <Row label="access windows">{k.accessWindows.length ? k.accessWindows.map((w) => `${w.days.join(' ')} ${w.start}–${w.end} ${w.timeZone}`).join('; ') : 'always'}</Row>
          <Row label="condition">{k.condition ? <code>{k.condition}</code> : 'none'}</Row>
        </dl>

        <div className="card relations">
          <h2>Hierarchy</h2>
          <Row label="parent">{k.parent ? <KeyLink k={k.parent} /> : '—'}</Row>
          <Row label="predecessor">{k.predecessor ? <KeyLink k={k.predecessor} /> : '—'}</Row>
          <Row label="successor">{k.successor ? <KeyLink k={k.successor} /> : '—'}</Row>
          <Row label={`children (${k.children.edges.length})`}>
            {k.children.edges.length ? (
              <ul className="plain" data-testid="children">
                {k.children.edges.map(({ node }) => (
                  <li key={node.id}>
                    <KeyLink k={node} /> <StatusBadge status={node.status} />
                  </li>
                ))}
              </ul>
            ) : (
              'none'
            )}
          </Row>
          <Row label="descendants not revoked">{k.descendantCount}</Row>
        </div>
      </div>

      <div className="card">
        <div className="page-head">
          <h2>Usage</h2>
          <Segmented
            label="Granularity"
            value={granularity}
            options={[
              ['HOUR', '48 hours'],
              ['DAY', '30 days'],
            ]}
            onChange={setGranularity}
          />
        </div>
        <UsageChart points={points} granularity={granularity} />
      </div>

      <div className="grid">
        <div className="card">
          <h2>Security events</h2>
          {k.securityEvents.edges.length ? (
            <table>
              <tbody>
                {k.securityEvents.edges.map(({ node: e }) => (
                  <tr key={e.id}>
                    <td>
                      <span className={`badge severity-${e.severity.toLowerCase()}`}>{e.severity.toLowerCase()}</span>
                    </td>
                    <td>{e.kind}</td>
                    <td>{formatDate(e.createdAt)}</td>
                    <td>{e.acknowledgedAt ? 'acknowledged' : <a href={href({ page: 'security' })}>open</a>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">None.</p>
          )}
        </div>
        <div className="card">
          <h2>Recent access</h2>
          {k.recentAccess.length ? (
            <table>
              <tbody>
                {k.recentAccess.map((a, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a read-only log replaced whole on each load; two entries may share every field.
                  <tr key={i}>
                    <td>{formatDate(a.at)}</td>
                    <td>
                      <span className={a.code === 'VALID' ? 'ok' : 'denied'}>{a.code}</span>
                    </td>
                    <td className="mono">{a.ip ?? ''}</td>
                    <td>{a.country ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No verifications yet.</p>
          )}
        </div>
      </div>

      <div className="card">
        <h2>Audit trail</h2>
        <table data-testid="audit">
          <thead>
            <tr>
              <th>#</th>
              <th>when</th>
              <th>action</th>
              <th>by</th>
              <th>from</th>
            </tr>
          </thead>
          <tbody>
            {data.auditEvents.edges.map(({ node: a }) => (
              <tr key={a.id}>
                <td>{a.sequence}</td>
                <td>{formatDate(a.createdAt)}</td>
                <td>
                  {a.action}
                  {a.targetId && a.targetId !== k.id && (
                    <>
                      {' '}
                      on <a href={href({ page: 'key', id: a.targetId })}>another key</a>
                    </>
                  )}
                </td>
                <td>
                  <AuditActor a={a} />
                </td>
                <td className="mono">{a.ip ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {dialog === 'edit' && (
        <EditKeyDialog
          k={k}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            reload();
          }}
        />
      )}
      {dialog === 'rotate' && (
        <RotateDialog
          k={k}
          onClose={() => setDialog(null)}
          onRotated={(p) => {
            setDialog(null);
            setSecret(p);
          }}
        />
      )}
      {dialog === 'revoke' && (
        <RevokeDialog
          k={k}
          onClose={() => setDialog(null)}
          onRevoked={() => {
            setDialog(null);
            reload();
          }}
        />
      )}
      {secret && <IssuedKeyReveal issued={secret} onClose={() => setSecret(null)} />}
    </section>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Who made a change: the person (and the key they acted through, if any), or the key. */
function AuditActor({ a }: { a: AuditRow }) {
  if (!a.actorOperator) return a.actor ? <KeyLink k={a.actor} /> : <>—</>;
  return (
    <span className="person" data-testid="audit-person">
      {a.actorOperator.name ?? a.actorOperator.email}
      {a.actorOperator.name && <span className="muted"> {a.actorOperator.email}</span>}
      {a.actor && (
        <>
          {' '}
          via <KeyLink k={a.actor} />
        </>
      )}
    </span>
  );
}

function KeyLink({ k }: { k: KeyRef }) {
  return (
    <a href={href({ page: 'key', id: k.id })}>
      {k.name} <span className="mono muted">{k.start}…</span>
    </a>
  );
}

function RotateDialog({ k, onClose, onRotated }: { k: KeyDetail; onClose: () => void; onRotated: (p: KeySecretPayload) => void }) {
  const [grace, setGrace] = useState(86400);
  const rotate = useMutation<{ rotateKey: KeySecretPayload }>(ROTATE);
  const submit = async () => {
    const d = await rotate.run({ id: k.id, grace });
    if (d) onRotated(d.rotateKey);
  };
  return (
    <Modal title={`Rotate ${k.name}`} onClose={onClose}>
      <p>A successor with the same settings is issued{k.children.edges.length ? ` and the ${k.children.edges.length} child keys move to it` : ''}. The old key keeps working until the grace period ends.</p>
      <GraceSelect value={grace} onChange={setGrace} />
      <ErrorBanner error={rotate.error} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={rotate.pending} confirm="Rotate key" />
    </Modal>
  );
}

function RevokeDialog({ k, onClose, onRevoked }: { k: KeyDetail; onClose: () => void; onRevoked: () => void }) {
  const [reason, setReason] = useState('');
  const revoke = useMutation<{ revokeKey: { id: string } }>(REVOKE);
  const submit = async () => {
    const d = await revoke.run({ id: k.id, reason: reason.trim() || null });
    if (d) onRevoked();
  };
  const n = k.descendantCount;
  return (
    <Modal title={`Revoke ${k.name}`} onClose={onClose}>
      <p className="warning" data-testid="revoke-warning">
        {n === 0 ? 'This key stops verifying within a second. This cannot be undone.' : `This key and the ${n} ${n === 1 ? 'key' : 'keys'} derived from it stop verifying within a second. This cannot be undone.`}
      </p>
      <label className="field">
        <span className="field-label">Reason (kept in the audit log)</span>
        <input value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <ErrorBanner error={revoke.error} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={revoke.pending} danger confirm={n === 0 ? 'Revoke key' : `Revoke ${n + 1} keys`} />
    </Modal>
  );
}
