import { useState } from 'react';
import { formErrorOf, useFormMutation } from '../hooks';
import { DialogActions, ErrorBanner, Field, Modal } from '../components/common';
import { RateLimitRows, parseRateLimits, type RateLimitRow } from '../components/RateLimitRows';
import { KeyAccessFields } from '../components/KeyAccessFields';
import { splitList } from '../format';
import { ACCESS_PATHS, type AccessForm, changedAccessInput, type Credits, creditsForm } from '../grants';
import type { RateWindow } from '../types';

// Changing a key's everyday settings. Only what was changed is sent: updateKey leaves the rest
// as it is, and a derived key may still only narrow its parent (the server says which field not).

const UPDATE = `mutation Update($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id } }`;

export interface EditableKey {
  id: string;
  name: string;
  ipAllowlist: string[];
  allowedCountries: string[];
  condition: string | null;
  rateLimits: { window: string; limit: number }[];
  permissions: string[];
  roles: { id: string }[];
  identity: { id: string } | null;
  credits: Credits | null;
}

const accessOf = (k: EditableKey): AccessForm => ({ permissions: k.permissions.join(', '), roleIds: k.roles.map((r) => r.id), identityId: k.identity?.id ?? '', credits: creditsForm(k.credits) });

interface EditForm {
  name: string;
  ipAllowlist: string;
  allowedCountries: string;
  condition: string;
  rateLimits: RateLimitRow[];
}

function formOf(k: EditableKey): EditForm {
  return {
    name: k.name,
    ipAllowlist: k.ipAllowlist.join(', '),
    allowedCountries: k.allowedCountries.join(', '),
    condition: k.condition ?? '',
    rateLimits: k.rateLimits.map((r) => ({ window: r.window as RateWindow, limit: String(r.limit) })),
  };
}

/** The UpdateKeyInput for what differs between the form as it started and as it is now. */
export function changedInput(start: EditForm, now: EditForm): { input: Record<string, unknown> } | { error: string } {
  const input: Record<string, unknown> = {};
  if (now.name.trim() !== start.name.trim()) input.name = now.name.trim();
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const ips = splitList(now.ipAllowlist);
  if (!same(ips, splitList(start.ipAllowlist))) input.ipAllowlist = ips;
  const countries = splitList(now.allowedCountries).map((c) => c.toUpperCase());
  if (!same(countries, splitList(start.allowedCountries))) input.allowedCountries = countries;
  if (now.condition.trim() !== start.condition.trim()) input.condition = now.condition.trim() || null;
  if (JSON.stringify(now.rateLimits) !== JSON.stringify(start.rateLimits)) {
    const parsed = parseRateLimits(now.rateLimits);
    if ('error' in parsed) return parsed;
    input.rateLimits = parsed.limits;
  }
  return { input };
}

export function EditKeyDialog({ k, onClose, onSaved }: { k: EditableKey; onClose: () => void; onSaved: () => void }) {
  const [start] = useState(() => formOf(k));
  const [form, setForm] = useState(start);
  const [formError, setFormError] = useState<string | null>(null);
  const [accessStart] = useState(() => accessOf(k));
  const [access, setAccess] = useState(accessStart);
  const update = useFormMutation<{ updateKey: { id: string } }>(UPDATE);
  const set = (patch: Partial<EditForm>) => setForm({ ...form, ...patch });
  const save = async () => {
    const changed = changedInput(start, form);
    if ('error' in changed) return setFormError(changed.error);
    setFormError(null);
    try {
      Object.assign(changed.input, changedAccessInput(accessStart, access));
    } catch (err) {
      return update.setError(formErrorOf(err));
    }
    if (Object.keys(changed.input).length === 0) return onClose();
    if (await update.run({ id: k.id, input: changed.input })) onSaved();
  };
  return (
    <Modal title={`Edit ${k.name}`} onClose={onClose}>
      <div className="form">
        <Field label="Name">
          <input name="name" value={form.name} onChange={(e) => set({ name: e.target.value })} />
        </Field>
        <RateLimitRows rows={form.rateLimits} onChange={(rateLimits) => set({ rateLimits })} />
        <KeyAccessFields
          value={access}
          onChange={setAccess}
          errors={update.errors}
          noIdentityLabel={k.identity ? null : 'none'}
          hint="Dot-separated lower-case segments, e.g. billing.invoices.read or billing.*. Changing credits starts a new budget."
        />
        <Field label="IP allowlist" hint="Empty: any address (where the key's type allows it).">
          <textarea name="ipAllowlist" rows={2} value={form.ipAllowlist} onChange={(e) => set({ ipAllowlist: e.target.value })} />
        </Field>
        <Field label="Countries" hint="ISO 3166-1 alpha-2 codes, e.g. DE, FR. Empty: anywhere.">
          <input name="allowedCountries" value={form.allowedCountries} onChange={(e) => set({ allowedCountries: e.target.value })} />
        </Field>
        <Field label="Condition (CEL)" hint={'e.g. request.method == "GET" && request.agentId == "…"'}>
          <textarea name="condition" rows={2} value={form.condition} onChange={(e) => set({ condition: e.target.value })} />
        </Field>
      </div>
      <ErrorBanner error={formError ?? update.errors.elsewhere(ACCESS_PATHS)} />
      <DialogActions onCancel={onClose} onConfirm={save} pending={update.pending} confirm="Save changes" />
    </Modal>
  );
}
