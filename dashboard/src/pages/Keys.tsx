import { useEffect, useMemo, useState } from 'react';
import { KEY_CHANGED, useSubscription } from '../live';
import { gql, errorText } from '../api';
import { useMutation, useQuery } from '../hooks';
import { href } from '../router';
import { formatDate, permissionLabel, relativeTime } from '../format';
import { DialogActions, ErrorBanner, GraceSelect, HealthBadges, Loading, Modal, SecretReveal, Segmented, StatusBadge, keySecret } from '../components/common';
import { KEY_STATUSES, KEY_SUMMARY_FIELDS, KEY_TYPES, type Connection, type KeySecretPayload, type KeySummary } from '../types';
import { powersOf, usePowers, type ViewerInfo } from '../viewer';

const PAGE = 50;
const DAY_MS = 86_400_000;

const KEYS_QUERY = `query Keys($first: Int!, $after: String, $filter: KeyFilter, $from: DateTime!, $to: DateTime!) {
  keys(first: $first, after: $after, filter: $filter) {
    edges { node { ${KEY_SUMMARY_FIELDS} usage(from: $from, to: $to, granularity: HOUR) { requests } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CHILDREN_QUERY = `query Children($id: ID!, $from: DateTime!, $to: DateTime!) {
  key(id: $id) { id children(first: 100) { edges { node { ${KEY_SUMMARY_FIELDS} usage(from: $from, to: $to, granularity: HOUR) { requests } } } } }
}`;

const ROTATE_KEYS = `mutation RotateKeys($ids: [ID!]!, $grace: Int) { rotateKeys(ids: $ids, gracePeriodSeconds: $grace) { secret key { id name start status } } }`;
const REVOKE_KEYS = `mutation RevokeKeys($ids: [ID!]!, $reason: String) { revokeKeys(ids: $ids, reason: $reason) { id } }`;

function last24h() {
  const to = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
  return { from: new Date(to - DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

const requests24h = (k: KeySummary) => k.usage.reduce((n, p) => n + p.requests, 0);

export function KeysPage({ viewer, expiringDays }: { viewer: ViewerInfo; expiringDays?: number }) {
  const [status, setStatus] = useState<string>('ACTIVE');
  const [type, setType] = useState<string>('');
  const [searchInput, setSearchInput] = useState('');
  const [search, setSearch] = useState('');
  const [view, setView] = useState<'list' | 'tree'>('list');
  const [extra, setExtra] = useState<KeySummary[]>([]);
  const [cursor, setCursor] = useState<{ hasNextPage: boolean; endCursor: string | null } | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<'rotate' | 'revoke' | null>(null);
  const [secrets, setSecrets] = useState<{ label: string; secret: string }[] | null>(null);
  const range = useMemo(last24h, []);
  const expiringBefore = useMemo(() => (expiringDays ? new Date(Date.now() + expiringDays * DAY_MS).toISOString() : null), [expiringDays]);

  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), 250);
    return () => clearTimeout(t);
  }, [searchInput]);

  const filter = { ...(status ? { status } : {}), ...(type ? { type } : {}), ...(search ? { search } : {}), ...(expiringBefore ? { expiringBefore } : {}) };
  const { data, error, loading, reload } = useQuery<{ keys: Connection<KeySummary> }>(KEYS_QUERY, { first: PAGE, filter, ...range });
  // Keys created, changed, rotated or revoked anywhere show up without a reload.
  const powers = powersOf(viewer);
  useSubscription(KEY_CHANGED, reload, { skip: !powers.accountWide && !powers.managesKeys });
  useEffect(() => {
    setExtra([]);
    setCursor(null);
    // A new list (another filter, or after a bulk action) keeps only the selected keys it still shows.
    const shown = new Set(data?.keys.edges.filter((e) => e.node.status !== 'REVOKED').map((e) => e.node.id) ?? []);
    setSelected((prev) => new Set([...prev].filter((id) => shown.has(id))));
  }, [data]);

  const keys = [...(data?.keys.edges.map((e) => e.node) ?? []), ...extra];
  const pageInfo = cursor ?? data?.keys.pageInfo;
  const [moreError, setMoreError] = useState<string | null>(null);
  const loadMore = async () => {
    try {
      const d = await gql<{ keys: Connection<KeySummary> }>(KEYS_QUERY, { first: PAGE, after: pageInfo?.endCursor, filter, ...range });
      setExtra((prev) => [...prev, ...d.keys.edges.map((e) => e.node)]);
      setCursor(d.keys.pageInfo);
    } catch (e) {
      setMoreError(errorText(e));
    }
  };

  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <section>
      <div className="page-head">
        <h1>Keys</h1>
        {powers.master && (
          <a className="button primary" href={href({ page: 'new-key' })}>
            New key
          </a>
        )}
      </div>
      {expiringDays && (
        <p className="filter-note">
          Keys expiring within {expiringDays} days. <a href={href({ page: 'keys' })}>Show all keys</a>
        </p>
      )}
      <div className="filters">
        <input type="search" placeholder="Search name or start (ak_prod_…)" aria-label="Search keys" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} />
        <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any status</option>
          {KEY_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <select aria-label="Type" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">any type</option>
          {KEY_TYPES.map((t) => (
            <option key={t} value={t}>
              {t.toLowerCase()}
            </option>
          ))}
        </select>
        <Segmented
          label="View"
          value={view}
          options={[
            ['list', 'List'],
            ['tree', 'Tree'],
          ]}
          onChange={setView}
        />
      </div>
      {selected.size > 0 && powers.write && (
        <div className="bulkbar" data-testid="bulkbar">
          <span>{selected.size} selected</span>
          <button type="button" onClick={() => setBulk('rotate')}>
            Rotate selected
          </button>
          <button type="button" className="danger" onClick={() => setBulk('revoke')}>
            Revoke selected
          </button>
          <button type="button" onClick={() => setSelected(new Set())}>
            Clear
          </button>
        </div>
      )}
      <ErrorBanner error={error ?? moreError} />
      {loading && !data ? <Loading what="keys" /> : view === 'list' ? <KeyTable keys={keys} selected={selected} onToggle={toggle} /> : <KeyTree keys={keys} selected={selected} onToggle={toggle} range={range} />}
      {pageInfo?.hasNextPage && (
        <button type="button" onClick={loadMore}>
          Load more
        </button>
      )}
      {bulk && (
        <BulkDialog
          action={bulk}
          ids={[...selected]}
          names={keys.filter((k) => selected.has(k.id)).map((k) => k.name)}
          onClose={() => setBulk(null)}
          onDone={(issued) => {
            setBulk(null);
            setSelected(new Set());
            if (issued.length) setSecrets(issued.map(keySecret));
            reload();
          }}
        />
      )}
      {secrets && <SecretReveal secrets={secrets} onDone={() => setSecrets(null)} />}
    </section>
  );
}

function KeyRow({ k, depth, selected, onToggle, expander }: { k: KeySummary; depth?: number; selected: Set<string>; onToggle: (id: string) => void; expander?: React.ReactNode }) {
  const { write } = usePowers();
  return (
    <tr data-key-id={k.id}>
      <td>{write && <input type="checkbox" aria-label={`Select ${k.name}`} checked={selected.has(k.id)} onChange={() => onToggle(k.id)} disabled={k.status === 'REVOKED'} />}</td>
      <td className="name-cell">
        <div className="indent" data-depth={depth ?? 0} style={{ paddingLeft: (depth ?? 0) * 20 }}>
          {expander}
          <a href={href({ page: 'key', id: k.id })}>{k.name}</a>
          {k.master && <span className="badge master">master</span>}
          <div className="muted mono">{k.start}…</div>
        </div>
      </td>
      <td>
        <StatusBadge status={k.status} />
      </td>
      <td>
        <HealthBadges keyInfo={k} />
      </td>
      <td>{k.type.toLowerCase()}</td>
      <td title={`set: ${permissionLabel(k.permission)}`}>
        {permissionLabel(k.effectivePermission)} · {k.scope.kind.toLowerCase().replace('_', ' ')}
      </td>
      <td title={formatDate(k.lastUsedAt)}>{relativeTime(k.lastUsedAt)}</td>
      <td className="num" data-testid="requests-24h">
        {requests24h(k)}
      </td>
    </tr>
  );
}

function TableHead() {
  return (
    <thead>
      <tr>
        <th />
        <th>name</th>
        <th>status</th>
        <th>health</th>
        <th>type</th>
        <th>permission · scope</th>
        <th>last used</th>
        <th className="num">requests 24 h</th>
      </tr>
    </thead>
  );
}

function KeyTable({ keys, selected, onToggle }: { keys: KeySummary[]; selected: Set<string>; onToggle: (id: string) => void }) {
  if (!keys.length) return <p className="muted">No keys match.</p>;
  return (
    <table className="keys">
      <TableHead />
      <tbody>
        {keys.map((k) => (
          <KeyRow key={k.id} k={k} selected={selected} onToggle={onToggle} />
        ))}
      </tbody>
    </table>
  );
}

/** Roots are the listed keys whose parent is not listed; children load when a node opens. */
function KeyTree({ keys, selected, onToggle, range }: { keys: KeySummary[]; selected: Set<string>; onToggle: (id: string) => void; range: { from: string; to: string } }) {
  const listed = new Set(keys.map((k) => k.id));
  const roots = keys.filter((k) => !k.parent || !listed.has(k.parent.id));
  if (!roots.length) return <p className="muted">No keys match.</p>;
  return (
    <table className="keys tree">
      <TableHead />
      <tbody>
        {roots.map((k) => (
          <TreeNode key={k.id} k={k} depth={0} selected={selected} onToggle={onToggle} range={range} />
        ))}
      </tbody>
    </table>
  );
}

function TreeNode({ k, depth, selected, onToggle, range }: { k: KeySummary; depth: number; selected: Set<string>; onToggle: (id: string) => void; range: { from: string; to: string } }) {
  const [open, setOpen] = useState(false);
  const [children, setChildren] = useState<KeySummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hasChildren = k.children.edges.length > 0;
  const expand = async () => {
    if (open) return setOpen(false);
    setOpen(true);
    if (children) return;
    try {
      const d = await gql<{ key: { children: Connection<KeySummary> } }>(CHILDREN_QUERY, { id: k.id, ...range });
      setChildren(d.key.children.edges.map((e) => e.node));
    } catch (e) {
      setError(errorText(e));
    }
  };
  const expander = hasChildren ? (
    <button type="button" className="expander" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} ${k.name}`} onClick={expand}>
      {open ? '▾' : '▸'}
    </button>
  ) : (
    <span className="expander-space" />
  );
  return (
    <>
      <KeyRow k={k} depth={depth} selected={selected} onToggle={onToggle} expander={expander} />
      {open && error && (
        <tr>
          <td colSpan={8}>
            <ErrorBanner error={error} />
          </td>
        </tr>
      )}
      {open && children?.map((c) => <TreeNode key={c.id} k={c} depth={depth + 1} selected={selected} onToggle={onToggle} range={range} />)}
    </>
  );
}

function BulkDialog({ action, ids, names, onClose, onDone }: { action: 'rotate' | 'revoke'; ids: string[]; names: string[]; onClose: () => void; onDone: (issued: KeySecretPayload[]) => void }) {
  const rotate = useMutation<{ rotateKeys: KeySecretPayload[] }>(ROTATE_KEYS);
  const revoke = useMutation<{ revokeKeys: { id: string }[] }>(REVOKE_KEYS);
  const [grace, setGrace] = useState(86400);
  const [reason, setReason] = useState('');
  const submit = async () => {
    if (action === 'rotate') {
      const d = await rotate.run({ ids, grace });
      if (d) onDone(d.rotateKeys);
    } else {
      const d = await revoke.run({ ids, reason: reason || null });
      if (d) onDone([]);
    }
  };
  const pending = rotate.pending || revoke.pending;
  return (
    <Modal title={action === 'rotate' ? `Rotate ${ids.length} keys` : `Revoke ${ids.length} keys`} onClose={onClose}>
      <p>{names.join(', ')}</p>
      {action === 'rotate' ? (
        <GraceSelect value={grace} onChange={setGrace} />
      ) : (
        <>
          <p className="warning">Every key derived from these keys is revoked with them. All or nothing: if one fails, none is revoked.</p>
          <label className="field">
            <span className="field-label">Reason</span>
            <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        </>
      )}
      <ErrorBanner error={rotate.error ?? revoke.error} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={pending} danger={action === 'revoke'} confirm={`${action === 'rotate' ? 'Rotate' : 'Revoke'} ${ids.length} keys`} />
    </Modal>
  );
}
