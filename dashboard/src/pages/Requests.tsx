import { useState, type FormEvent } from 'react';
import { useFormMutation, useQuery } from '../hooks';
import { href } from '../router';
import { formatDate, permissionLabel, splitList } from '../format';
import { DialogActions, ErrorBanner, FieldWithError, IssuedKeyReveal, Loading, Modal, Segmented } from '../components/common';
import { ApprovalPolicyCard, type Policy } from '../components/ApprovalPolicy';
import { KEY_TYPES, PERMISSIONS, type KeySecretPayload, type KeyType, type Permission } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

// Key requests under the two-person rule: someone asks for a key with a justification; other
// people (an OWNER or an ADMIN, never the requester) approve or reject it with a reason; the
// requester claims it once, and only then is its secret minted and shown, once.

const REQUESTS_QUERY = `query KeyRequests($status: KeyRequestStatus) {
  approvalPolicy { requireFor approvals }
  keyRequests(first: 50, status: $status) { edges { node {
    id status input justification reason createdAt expiresAt
    requestedBy { id email name } requestedByKey { id name start }
    approvals { at operator { id email name } }
    rejectedBy { id email name }
    parent { id name start } key { id name start }
  } } }
}`;
const REQUEST = `mutation RequestKey($input: CreateKeyInput!, $parentId: ID, $justification: String!) { requestKey(input: $input, parentId: $parentId, justification: $justification) { id status } }`;
const APPROVE = `mutation ApproveKeyRequest($id: ID!) { approveKeyRequest(id: $id) { id status } }`;
const REJECT = `mutation RejectKeyRequest($id: ID!, $reason: String!) { rejectKeyRequest(id: $id, reason: $reason) { id status } }`;
const CLAIM = `mutation ClaimKeyRequest($id: ID!) { claimKeyRequest(id: $id) { secret key { id name start status } } }`;

type Status = 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED' | 'ISSUED';
interface Person {
  id: string;
  email: string;
  name: string | null;
}
interface KeyRequest {
  id: string;
  status: Status;
  input: { name?: string; type?: KeyType; permission?: Permission; ipAllowlist?: string[] };
  justification: string;
  reason: string | null;
  createdAt: string;
  expiresAt: string;
  requestedBy: Person | null;
  requestedByKey: { id: string; name: string; start: string } | null;
  approvals: { at: string; operator: Person }[];
  rejectedBy: Person | null;
  parent: { id: string; name: string; start: string } | null;
  key: { id: string; name: string; start: string } | null;
}

const personName = (p: Person) => p.name ?? p.email;

/** Did the signed-in viewer make this request (the person, or the key when a key asked)? */
function isMine(viewer: ViewerInfo, r: KeyRequest): boolean {
  if (viewer.operator) return r.requestedBy?.id === viewer.operator.id;
  return !r.requestedBy && r.requestedByKey?.id === viewer.key?.id;
}

export function RequestsPage({ viewer }: { viewer: ViewerInfo }) {
  const [show, setShow] = useState<'open' | 'all'>('open');
  const { data, error, loading, reload } = useQuery<{ approvalPolicy: Policy; keyRequests: { edges: { node: KeyRequest }[] } }>(REQUESTS_QUERY, {});
  const [asking, setAsking] = useState(false);
  const [issued, setIssued] = useState<KeySecretPayload | null>(null);
  const powers = powersOf(viewer);
  const rows = (data?.keyRequests.edges.map((e) => e.node) ?? []).filter((r) => show === 'all' || r.status === 'PENDING' || r.status === 'APPROVED');
  return (
    <section>
      <div className="page-head">
        <h1>Key requests</h1>
        {powers.write && !asking && (
          <button type="button" className="primary" onClick={() => setAsking(true)}>
            Request a key
          </button>
        )}
      </div>
      {data && <ApprovalPolicyCard policy={data.approvalPolicy} editable={powers.managePeople} onSaved={reload} />}
      {asking && (
        <RequestForm
          parentId={powers.master ? null : (viewer.key?.id ?? null)}
          onCancel={() => setAsking(false)}
          onRequested={() => {
            setAsking(false);
            setShow('open');
            reload();
          }}
        />
      )}
      <div className="filters">
        <Segmented
          label="Show"
          value={show}
          options={[
            ['open', 'Waiting'],
            ['all', 'All'],
          ]}
          onChange={setShow}
        />
      </div>
      <ErrorBanner error={error} />
      {loading && !data ? (
        <Loading what="key requests" />
      ) : !rows.length ? (
        <p className="muted">{show === 'open' ? 'No request is waiting.' : 'No key requests.'}</p>
      ) : (
        <div data-testid="key-requests">
          {rows.map((r) => (
            <RequestCard key={r.id} r={r} viewer={viewer} required={data?.approvalPolicy.approvals ?? 1} onChanged={reload} onIssued={setIssued} />
          ))}
        </div>
      )}
      {issued && <IssuedKeyReveal issued={issued} onClose={() => setIssued(null)} />}
    </section>
  );
}

function RequestForm({ parentId, onCancel, onRequested }: { parentId: string | null; onCancel: () => void; onRequested: () => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<KeyType>('PRODUCTION');
  const [permission, setPermission] = useState<Permission | ''>('');
  const [ipAllowlist, setIpAllowlist] = useState('');
  const [justification, setJustification] = useState('');
  const request = useFormMutation<{ requestKey: { id: string } }>(REQUEST);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input: Record<string, unknown> = { name: name.trim(), type };
    if (permission) input.permission = permission;
    const ips = splitList(ipAllowlist);
    if (ips.length) input.ipAllowlist = ips;
    if (await request.run({ input, parentId, justification })) onRequested();
  };
  const err = request.errors.at;
  return (
    <form className="card form" onSubmit={submit} aria-label="Request a key" noValidate>
      <h2>Request a key</h2>
      <p className="hint">Checked now as if the key were created; the secret exists only once the request is approved and you claim it.</p>
      <ErrorBanner error={request.errors.elsewhere(['input.name', 'input.type', 'input.permission', 'input.ipAllowlist', 'justification'])} />
      <FieldWithError id="request-name" label="Name" error={err('input.name')}>
        <input id="request-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!err('input.name')} />
      </FieldWithError>
      <div className="inline">
        <FieldWithError id="request-type" label="Type" error={err('input.type')}>
          <select id="request-type" value={type} onChange={(e) => setType(e.target.value as KeyType)}>
            {KEY_TYPES.map((t) => (
              <option key={t} value={t}>
                {t.toLowerCase()}
              </option>
            ))}
          </select>
        </FieldWithError>
        <FieldWithError id="request-permission" label="Permission" error={err('input.permission')}>
          <select id="request-permission" value={permission} onChange={(e) => setPermission(e.target.value as Permission | '')}>
            <option value="">type default</option>
            {PERMISSIONS.map((p) => (
              <option key={p} value={p}>
                {permissionLabel(p)}
              </option>
            ))}
          </select>
        </FieldWithError>
      </div>
      <FieldWithError id="request-ips" label="IP allowlist" error={err('input.ipAllowlist')}>
        <textarea id="request-ips" rows={2} value={ipAllowlist} onChange={(e) => setIpAllowlist(e.target.value)} placeholder="required for emergency keys: 10.0.0.0/8, 203.0.113.7" />
      </FieldWithError>
      <FieldWithError id="request-justification" label="Justification" error={err('justification')}>
        <textarea
          id="request-justification"
          rows={3}
          value={justification}
          onChange={(e) => setJustification(e.target.value)}
          aria-invalid={!!err('justification')}
          placeholder="What the key is for, and why it needs this much"
        />
      </FieldWithError>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={request.pending}>
          Send request
        </button>
      </div>
    </form>
  );
}

function RequestCard({ r, viewer, required, onChanged, onIssued }: { r: KeyRequest; viewer: ViewerInfo; required: number; onChanged: () => void; onIssued: (p: KeySecretPayload) => void }) {
  const approve = useFormMutation<{ approveKeyRequest: { id: string } }>(APPROVE);
  const claim = useFormMutation<{ claimKeyRequest: KeySecretPayload }>(CLAIM);
  const [rejecting, setRejecting] = useState(false);
  const powers = powersOf(viewer);
  const mine = isMine(viewer, r);
  const approvedByMe = r.approvals.some((a) => a.operator.id === viewer.operator?.id);
  const live = r.status === 'PENDING' || r.status === 'APPROVED';
  const doApprove = async () => (await approve.run({ id: r.id })) && onChanged();
  const doClaim = async () => {
    const d = await claim.run({ id: r.id });
    if (d) {
      onChanged();
      onIssued(d.claimKeyRequest);
    }
  };
  const requester = r.requestedBy ? personName(r.requestedBy) : r.requestedByKey ? `key ${r.requestedByKey.name}` : 'a removed person';
  return (
    <div className="card request" data-request-id={r.id}>
      <div className="page-head">
        <div>
          <h2>
            {r.input.name ?? 'unnamed'} <span className={`badge request-${r.status.toLowerCase()}`}>{r.status.toLowerCase()}</span>
          </h2>
          <div className="muted">
            {(r.input.type ?? '').toLowerCase()} · {r.input.permission ? permissionLabel(r.input.permission) : 'type default permission'}
            {r.parent && ` · derived from ${r.parent.name}`} · asked by {requester}
            {mine && ' (you)'} on {formatDate(r.createdAt)}
            {live && ` · expires ${formatDate(r.expiresAt)}`}
          </div>
        </div>
        <div className="actions">
          {powers.approve && !mine && r.status === 'PENDING' && !approvedByMe && (
            <button type="button" className="primary" disabled={approve.pending} onClick={doApprove}>
              Approve
            </button>
          )}
          {powers.approve && !mine && live && (
            <button type="button" className="danger" onClick={() => setRejecting(true)}>
              Reject
            </button>
          )}
          {mine && r.status === 'APPROVED' && (
            <button type="button" className="primary" disabled={claim.pending} onClick={doClaim}>
              Claim key
            </button>
          )}
        </div>
      </div>
      <p className="justification">“{r.justification}”</p>
      <ErrorBanner error={approve.errors.elsewhere([]) ?? claim.errors.elsewhere([])} />
      <RequestTrail r={r} required={required} />
      {rejecting && (
        <RejectDialog
          r={r}
          onClose={() => setRejecting(false)}
          onRejected={() => {
            setRejecting(false);
            onChanged();
          }}
        />
      )}
    </div>
  );
}

function RequestTrail({ r, required }: { r: KeyRequest; required: number }) {
  return (
    <ul className="plain trail">
      {r.approvals.map((a) => (
        <li key={a.operator.id}>
          Approved by <strong>{personName(a.operator)}</strong> on {formatDate(a.at)}
        </li>
      ))}
      {r.status === 'PENDING' && (
        <li className="muted">
          {r.approvals.length} of {required} approval{required === 1 ? '' : 's'}
        </li>
      )}
      {r.status === 'REJECTED' && (
        <li>
          Rejected
          {r.rejectedBy && (
            <>
              {' '}
              by <strong>{personName(r.rejectedBy)}</strong>
            </>
          )}
          : {r.reason}
        </li>
      )}
      {r.status === 'APPROVED' && <li className="muted">Approved: waiting for the requester to claim the key.</li>}
      {r.key && (
        <li>
          Issued as <a href={href({ page: 'key', id: r.key.id })}>{r.key.name}</a> <span className="mono muted">{r.key.start}…</span>
        </li>
      )}
    </ul>
  );
}

function RejectDialog({ r, onClose, onRejected }: { r: KeyRequest; onClose: () => void; onRejected: () => void }) {
  const [reason, setReason] = useState('');
  const reject = useFormMutation<{ rejectKeyRequest: { id: string } }>(REJECT);
  const submit = async () => {
    if (await reject.run({ id: r.id, reason })) onRejected();
  };
  const reasonError = reject.errors.at('reason');
  return (
    <Modal title={`Reject ${r.input.name ?? 'the request'}`} onClose={onClose}>
      <FieldWithError id="reject-reason" label="Reason (the requester sees it; kept in the audit log)" error={reasonError}>
        <textarea id="reject-reason" rows={3} value={reason} onChange={(e) => setReason(e.target.value)} aria-invalid={!!reasonError} />
      </FieldWithError>
      <ErrorBanner error={reject.errors.elsewhere(['reason'])} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={reject.pending} danger confirm="Reject request" />
    </Modal>
  );
}
