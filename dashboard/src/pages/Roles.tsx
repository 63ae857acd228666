import { useState, type FormEvent } from 'react';
import { useFormMutation, useMutation, useQuery } from '../hooks';
import { permissionList } from '../grants';
import { DialogActions, ErrorBanner, FieldWithError, Loading, Modal } from '../components/common';
import { powersOf, type ViewerInfo } from '../viewer';

// Roles: named sets of permission strings that keys hold. The API checks the grammar (lower
// case, no empty segment, `*` only last) and names the entry at fault; that message shows by the
// field. Deleting a role is never refused: keys holding it lose its permissions at once.

const ROLES_QUERY = `query Roles { roles { id name description permissions } }`;
const CREATE = `mutation CreateRole($input: CreateRoleInput!) { createRole(input: $input) { id } }`;
const UPDATE = `mutation UpdateRole($id: ID!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { id } }`;
const DELETE = `mutation DeleteRole($id: ID!) { deleteRole(id: $id) }`;
const ROLE_PATHS = ['input.name', 'input.description', 'input.permissions'];

interface Role {
  id: string;
  name: string;
  description: string | null;
  permissions: string[];
}
interface RoleForm {
  name: string;
  description: string;
  permissions: string;
}
const formOf = (r: Role | null): RoleForm => ({ name: r?.name ?? '', description: r?.description ?? '', permissions: r?.permissions.join('\n') ?? '' });

/** CreateRoleInput (no `start`), or UpdateRoleInput with what changed since `start`. */
function roleInput(now: RoleForm, start?: RoleForm): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (!start || now.name.trim() !== start.name.trim()) input.name = now.name.trim();
  if (!start || now.description.trim() !== start.description.trim()) input.description = now.description.trim() || null;
  const permissions = permissionList(now.permissions);
  if (!start || permissions.join(' ') !== permissionList(start.permissions).join(' ')) input.permissions = permissions;
  return input;
}

export function RolesPage({ viewer }: { viewer: ViewerInfo }) {
  const { data, error, loading, reload } = useQuery<{ roles: Role[] }>(ROLES_QUERY);
  const master = powersOf(viewer).master;
  const [dialog, setDialog] = useState<{ kind: 'edit' | 'delete'; role: Role } | null>(null);
  const done = () => {
    setDialog(null);
    reload();
  };
  if (loading && !data) return <Loading what="roles" />;
  return (
    <section>
      <div className="page-head">
        <h1>Roles</h1>
      </div>
      <p className="hint">A role is a named set of permission strings; a key holds its own strings plus its roles'. A change to a role reaches every key holding it at once.</p>
      {master && <RoleEditor key="new" editing={null} onSaved={reload} />}
      <ErrorBanner error={error} />
      <table data-testid="roles">
        <thead>
          <tr>
            <th>name</th>
            <th>permissions</th>
            <th>description</th>
            {master && <th>actions</th>}
          </tr>
        </thead>
        <tbody>
          {(data?.roles ?? []).map((r) => (
            <tr key={r.id}>
              <td>{r.name}</td>
              <td className="mono">{r.permissions.join(', ') || '—'}</td>
              <td>{r.description ?? ''}</td>
              {master && (
                <td className="actions">
                  <button type="button" aria-label={`Edit role ${r.name}`} onClick={() => setDialog({ kind: 'edit', role: r })}>
                    Edit
                  </button>
                  <button type="button" className="danger" aria-label={`Delete role ${r.name}`} onClick={() => setDialog({ kind: 'delete', role: r })}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
          {data?.roles.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No roles yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {dialog?.kind === 'edit' && (
        <Modal title={`Edit role ${dialog.role.name}`} onClose={() => setDialog(null)}>
          <RoleEditor editing={dialog.role} onSaved={done} onCancel={() => setDialog(null)} />
        </Modal>
      )}
      {dialog?.kind === 'delete' && <DeleteRoleDialog role={dialog.role} onClose={() => setDialog(null)} onDeleted={done} />}
    </section>
  );
}

/** The create form (role null) or the edit form of one role. */
function RoleEditor({ editing: role, onSaved, onCancel }: { editing: Role | null; onSaved: () => void; onCancel?: () => void }) {
  const [start] = useState(() => formOf(role));
  const [form, setForm] = useState(start);
  const save = useFormMutation<unknown>(role ? UPDATE : CREATE);
  const set = (patch: Partial<RoleForm>) => setForm({ ...form, ...patch });
  const idp = role ? `role-${role.id}` : 'new-role';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input = roleInput(form, role ? start : undefined);
    if (role && Object.keys(input).length === 0) return onSaved();
    if (!(await save.run(role ? { id: role.id, input } : { input }))) return;
    if (!role) setForm(formOf(null));
    onSaved();
  };
  return (
    <form className={role ? 'form' : 'create-form'} onSubmit={submit} aria-label={role ? `Edit role ${role.name}` : 'New role'} noValidate>
      {!role && <h3>New role</h3>}
      <FieldWithError id={`${idp}-name`} label="Role name" error={save.errors.at('input.name')}>
        {(p) => <input {...p} name="name" value={form.name} onChange={(e) => set({ name: e.target.value })} placeholder="billing-reader" />}
      </FieldWithError>
      <FieldWithError
        id={`${idp}-permissions`}
        label="Permission strings"
        hint="One per line (or separated by commas): dot-separated lower-case segments, a final * matches any rest."
        error={save.errors.at('input.permissions')}
      >
        {(p) => <textarea {...p} name="permissions" rows={3} className="mono" value={form.permissions} onChange={(e) => set({ permissions: e.target.value })} placeholder={'billing.invoices.read\nagents.*'} />}
      </FieldWithError>
      <FieldWithError id={`${idp}-description`} label="Description" error={save.errors.at('input.description')}>
        {(p) => <input {...p} name="description" value={form.description} onChange={(e) => set({ description: e.target.value })} />}
      </FieldWithError>
      <ErrorBanner error={save.errors.elsewhere(ROLE_PATHS)} />
      <div className="actions">
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="primary" disabled={save.pending}>
          {role ? 'Save role' : 'Create role'}
        </button>
      </div>
    </form>
  );
}

function DeleteRoleDialog({ role, onClose, onDeleted }: { role: Role; onClose: () => void; onDeleted: () => void }) {
  const del = useMutation<{ deleteRole: boolean }>(DELETE);
  const submit = async () => {
    if (await del.run({ id: role.id })) onDeleted();
  };
  return (
    <Modal title={`Delete role ${role.name}`} onClose={onClose}>
      <p className="warning">Every key holding this role loses its permissions ({role.permissions.join(', ') || 'none'}) at once, on every instance. This cannot be undone.</p>
      <ErrorBanner error={del.error} />
      <DialogActions onCancel={onClose} onConfirm={submit} pending={del.pending} danger confirm="Delete role" />
    </Modal>
  );
}
