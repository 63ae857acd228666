import { useState, type FormEvent } from 'react';
import { useFormMutation, useQuery } from '../hooks';
import { formatDate } from '../format';
import { DialogActions, ErrorBanner, FieldWithError, Loading, Modal } from '../components/common';
import { OPERATOR_ROLES, powersOf, type OperatorRole, type ViewerInfo } from '../viewer';

// The people of the account. Everyone who may read the account sees the list; an OWNER (or a
// master key) invites, changes roles, disables and removes. The API's refusals (an email invited
// twice, the last OWNER) are shown next to what caused them.

const OPERATORS_QUERY = `query Operators { operators { id email name role disabled createdAt lastSignInAt } }`;
const INVITE = `mutation InviteOperator($input: InviteOperatorInput!) { inviteOperator(input: $input) { id } }`;
const UPDATE = `mutation UpdateOperator($id: ID!, $input: UpdateOperatorInput!) { updateOperator(id: $id, input: $input) { id role disabled } }`;
const REMOVE = `mutation RemoveOperator($id: ID!) { removeOperator(id: $id) }`;

interface Operator {
  id: string;
  email: string;
  name: string | null;
  role: OperatorRole;
  disabled: boolean;
  createdAt: string;
  lastSignInAt: string | null;
}

const ROLE_HELP: Record<OperatorRole, string> = {
  OWNER: 'everything, including people and the approval policy',
  ADMIN: 'keys, agents, webhooks and approvals; not people or the policy',
  AUDITOR: 'reads everything, changes nothing',
};

export function OperatorsPage({ viewer }: { viewer: ViewerInfo }) {
  const { data, error, loading, reload } = useQuery<{ operators: Operator[] }>(OPERATORS_QUERY);
  const manage = powersOf(viewer).managePeople;
  return (
    <section>
      <div className="page-head">
        <h1>People</h1>
      </div>
      <p className="hint">
        {OPERATOR_ROLES.map((r) => (
          <span key={r} className="role-help">
            <strong>{r}</strong>: {ROLE_HELP[r]}.{' '}
          </span>
        ))}
      </p>
      {manage && <InviteForm onInvited={reload} />}
      <ErrorBanner error={error} />
      {loading && !data ? (
        <Loading what="people" />
      ) : !data?.operators.length ? (
        <p className="muted">Nobody has been invited yet.</p>
      ) : (
        <table data-testid="operators">
          <thead>
            <tr>
              <th>person</th>
              <th>role</th>
              <th>status</th>
              <th>invited</th>
              <th>last sign-in</th>
              {manage && <th />}
            </tr>
          </thead>
          <tbody>
            {data.operators.map((o) => (
              <OperatorRow key={o.id} o={o} manage={manage} self={viewer.operator?.id === o.id} onChanged={reload} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function InviteForm({ onInvited }: { onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<OperatorRole>('ADMIN');
  const invite = useFormMutation<{ inviteOperator: { id: string } }>(INVITE);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await invite.run({ input: { email: email.trim(), role } })) {
      setEmail('');
      onInvited();
    }
  };
  const emailError = invite.errors.at('input.email');
  const roleError = invite.errors.at('input.role');
  return (
    <form className="create-form" onSubmit={submit} aria-label="Invite a person" noValidate>
      <h3>Invite a person</h3>
      <p className="hint">They sign in with single sign-on; the provider must confirm this email address.</p>
      <ErrorBanner error={invite.errors.elsewhere(['input.email', 'input.role'])} />
      <div className="inline">
        <FieldWithError id="invite-email" label="Email" error={emailError}>
          <input id="invite-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={!!emailError} aria-describedby={emailError ? 'invite-email-error' : undefined} />
        </FieldWithError>
        <FieldWithError id="invite-role" label="Role" error={roleError}>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as OperatorRole)} aria-invalid={!!roleError}>
            {OPERATOR_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </FieldWithError>
        <button type="submit" className="primary" disabled={invite.pending}>
          Invite
        </button>
      </div>
    </form>
  );
}

function OperatorRow({ o, manage, self, onChanged }: { o: Operator; manage: boolean; self: boolean; onChanged: () => void }) {
  const update = useFormMutation<{ updateOperator: { id: string } }>(UPDATE);
  const [removing, setRemoving] = useState(false);
  const change = async (input: { role?: OperatorRole; disabled?: boolean }) => {
    if (await update.run({ id: o.id, input })) onChanged();
  };
  const roleError = update.errors.at('input.role');
  const rowError = update.errors.elsewhere(['input.role']);
  const label = o.name ?? o.email;
  return (
    <tr data-operator-id={o.id}>
      <td>
        {label}
        {o.name && <div className="muted">{o.email}</div>}
        {self && <span className="badge">you</span>}
      </td>
      <td>
        {manage ? (
          <>
            <select aria-label={`Role of ${o.email}`} value={o.role} disabled={update.pending} onChange={(e) => change({ role: e.target.value as OperatorRole })} aria-invalid={!!roleError}>
              {OPERATOR_ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            {roleError && (
              <span className="field-error" role="alert">
                {roleError}
              </span>
            )}
          </>
        ) : (
          o.role
        )}
      </td>
      <td>
        <span className={`badge ${o.disabled ? 'status-revoked' : o.lastSignInAt ? 'status-active' : ''}`}>{o.disabled ? 'disabled' : o.lastSignInAt ? 'active' : 'invited'}</span>
      </td>
      <td>{formatDate(o.createdAt)}</td>
      <td>{o.lastSignInAt ? formatDate(o.lastSignInAt) : <span className="muted">never</span>}</td>
      {manage && (
        <td>
          <div className="actions">
            <button type="button" disabled={update.pending} onClick={() => change({ disabled: !o.disabled })}>
              {o.disabled ? 'Enable' : 'Disable'}
            </button>
            <button type="button" className="danger" onClick={() => setRemoving(true)}>
              Remove
            </button>
          </div>
          {rowError && (
            <span className="field-error" role="alert">
              {rowError}
            </span>
          )}
          {removing && (
            <RemoveDialog
              o={o}
              onClose={() => setRemoving(false)}
              onRemoved={() => {
                setRemoving(false);
                onChanged();
              }}
            />
          )}
        </td>
      )}
    </tr>
  );
}

function RemoveDialog({ o, onClose, onRemoved }: { o: Operator; onClose: () => void; onRemoved: () => void }) {
  const remove = useFormMutation<{ removeOperator: boolean }>(REMOVE);
  const submit = async () => {
    if (await remove.run({ id: o.id })) onRemoved();
  };
  return (
    <Modal title={`Remove ${o.email}`} onClose={onClose}>
      <p>Their sessions end at once and they can no longer sign in. Their past changes stay in the audit log.</p>
      <ErrorBanner error={remove.errors.elsewhere([])} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={remove.pending} danger confirm="Remove" />
    </Modal>
  );
}
