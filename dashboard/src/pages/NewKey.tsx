import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../hooks';
import { href } from '../router';
import { permissionLabel, splitList } from '../format';
import { ErrorBanner, Field, IssuedKeyReveal, Loading } from '../components/common';
import { NO_SCOPE_CHOICE, ScopePicker, scopeInput, type ScopeChoice } from '../components/ScopePicker';
import { RateLimitRows, parseRateLimits, type RateLimitRow } from '../components/RateLimitRows';
import { KEY_TYPES, PERMISSIONS, type KeySecretPayload, type KeyType, type Permission, type RateWindow } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

const PRESETS_QUERY = `query Presets { keyTypePresets { type permission expiresInDays rateLimits { window limit } rotationPeriodDays requiresIpAllowlist } }`;
const PARENT_QUERY = `query Parent($id: ID!) { key(id: $id) { id name start type effectivePermission expiresAt rateLimits { window limit } ipAllowlist } }`;
const CREATE = `mutation Create($input: CreateKeyInput!) { createKey(input: $input) { secret key { id name start status } } }`;
const DERIVE = `mutation Derive($parentId: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $parentId, input: $input) { secret key { id name start status } } }`;

interface Preset {
  type: KeyType;
  permission: Permission;
  expiresInDays: number | null;
  rateLimits: { window: RateWindow; limit: number }[];
  rotationPeriodDays: number | null;
  requiresIpAllowlist: boolean;
}

interface Parent {
  id: string;
  name: string;
  start: string;
  type: KeyType;
  effectivePermission: Permission;
  expiresAt: string | null;
  rateLimits: { window: RateWindow; limit: number }[];
  ipAllowlist: string[];
}

const EXPIRATIONS = [
  ['DAYS_30', '30 days'],
  ['DAYS_90', '90 days'],
  ['YEAR_1', '1 year'],
  ['NEVER', 'never'],
] as const;

/** The form's text fields become CreateKeyInput; a field left at '' is left out (preset or parent applies). */
export interface KeyForm {
  name: string;
  type: KeyType;
  permission: Permission | '';
  expiresIn: string;
  rateLimits: RateLimitRow[];
  ipAllowlist: string;
  quotaUnits: string;
  quotaPeriod: 'DAY' | 'MONTH';
  maxConcurrent: string;
  rotationPeriodDays: string;
  scope: ScopeChoice;
}

export function formToInput(f: KeyForm): { input?: Record<string, unknown>; error?: string } {
  const input: Record<string, unknown> = { name: f.name.trim(), type: f.type };
  if (!input.name) return { error: 'Name: required.' };
  if (f.permission) input.permission = f.permission;
  const scope = scopeInput(f.scope);
  if ('error' in scope) return { error: scope.error };
  if (scope.scope) input.scope = scope.scope;
  if (f.expiresIn) input.expiresIn = f.expiresIn;
  if (f.rateLimits.length) {
    const parsed = parseRateLimits(f.rateLimits);
    if ('error' in parsed) return { error: parsed.error };
    input.rateLimits = parsed.limits;
  }
  const ips = splitList(f.ipAllowlist);
  if (ips.length) input.ipAllowlist = ips;
  if (f.quotaUnits) {
    const units = Number(f.quotaUnits);
    if (!Number.isInteger(units) || units <= 0) return { error: 'Quota: a whole number of units above 0.' };
    input.quota = { units, period: f.quotaPeriod };
  }
  if (f.maxConcurrent) {
    const n = Number(f.maxConcurrent);
    if (!Number.isInteger(n) || n <= 0) return { error: 'Concurrent requests: a whole number above 0.' };
    input.maxConcurrent = n;
  }
  if (f.rotationPeriodDays) {
    const n = Number(f.rotationPeriodDays);
    if (!Number.isInteger(n) || n <= 0) return { error: 'Rotation period: a whole number of days above 0.' };
    input.rotationPeriodDays = n;
  }
  return { input };
}

function presetForm(p: Preset | undefined, type: KeyType, name: string): KeyForm {
  return {
    name,
    type,
    permission: p?.permission ?? '',
    expiresIn: '',
    rateLimits: (p?.rateLimits ?? []).map((r) => ({ window: r.window, limit: String(r.limit) })),
    ipAllowlist: '',
    quotaUnits: '',
    quotaPeriod: 'MONTH',
    maxConcurrent: '',
    rotationPeriodDays: p?.rotationPeriodDays ? String(p.rotationPeriodDays) : '',
    scope: NO_SCOPE_CHOICE,
  };
}

export function NewKeyPage({ parentId, viewer }: { parentId?: string; viewer: ViewerInfo }) {
  const presets = useQuery<{ keyTypePresets: Preset[] }>(PRESETS_QUERY);
  const parent = useQuery<{ key: Parent | null }>(PARENT_QUERY, { id: parentId }, { skip: !parentId });
  const [form, setForm] = useState<KeyForm | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [issued, setIssued] = useState<KeySecretPayload | null>(null);
  const create = useMutation<{ createKey: KeySecretPayload }>(CREATE);
  const derive = useMutation<{ deriveKey: KeySecretPayload }>(DERIVE);
  const parentKey = parentId ? (parent.data?.key ?? null) : null;

  useEffect(() => {
    if (form || !presets.data || (parentId && !parentKey)) return;
    if (parentKey) {
      // Derived keys follow their parent wherever the form is left empty.
      setForm({ ...presetForm(undefined, parentKey.type, ''), permission: '', rateLimits: [] });
    } else {
      setForm(
        presetForm(
          presets.data.keyTypePresets.find((p) => p.type === 'PRODUCTION'),
          'PRODUCTION',
          '',
        ),
      );
    }
  }, [form, presets.data, parentId, parentKey]);

  if (!parentId && !powersOf(viewer).master) return <ErrorBanner error="Only a master key, an OWNER or an ADMIN creates top-level keys; open a key you manage and derive from it." />;
  if (presets.error || parent.error) return <ErrorBanner error={presets.error ?? parent.error} />;
  if (!form) return <Loading what="the form" />;

  const preset = presets.data?.keyTypePresets.find((p) => p.type === form.type);
  const set = (patch: Partial<KeyForm>) => setForm({ ...form, ...patch });
  const changeType = (type: KeyType) => {
    if (parentKey) return set({ type });
    const p = presets.data?.keyTypePresets.find((x) => x.type === type);
    setForm({ ...presetForm(p, type, form.name), ipAllowlist: form.ipAllowlist, scope: form.scope });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { input, error } = formToInput(form);
    if (!input) return setFormError(error ?? 'invalid input');
    if (preset?.requiresIpAllowlist && !input.ipAllowlist && !parentKey?.ipAllowlist.length) return setFormError(`IP allowlist: ${form.type.toLowerCase()} keys require one.`);
    setFormError(null);
    const d = parentKey ? (await derive.run({ parentId: parentKey.id, input }))?.deriveKey : (await create.run({ input }))?.createKey;
    if (d) setIssued(d);
  };

  return (
    <section>
      <div className="page-head">
        <h1>{parentKey ? `Derive a key from ${parentKey.name}` : 'New key'}</h1>
        <a href={parentKey ? href({ page: 'key', id: parentKey.id }) : href({ page: 'keys' })}>Cancel</a>
      </div>
      {parentKey && (
        <p className="hint">
          A derived key may only narrow its parent. Fields left empty follow the parent ({permissionLabel(parentKey.effectivePermission)},{' '}
          {parentKey.rateLimits.map((r) => `${r.limit}/${r.window.toLowerCase()}`).join(', ') || 'no rate limit'}).
        </p>
      )}
      <form className="card form" onSubmit={submit} noValidate>
        <Field label="Name">
          <input name="name" value={form.name} onChange={(e) => set({ name: e.target.value })} required />
        </Field>
        <Field label="Type" hint={preset && !parentKey ? presetHint(preset) : undefined}>
          <select name="type" value={form.type} onChange={(e) => changeType(e.target.value as KeyType)}>
            {KEY_TYPES.map((t) => (
              <option key={t} value={t}>
                {t.toLowerCase()}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Permission">
          <select name="permission" value={form.permission} onChange={(e) => set({ permission: e.target.value as Permission | '' })}>
            {parentKey && <option value="">as parent</option>}
            {PERMISSIONS.map((p) => (
              <option key={p} value={p}>
                {permissionLabel(p)}
              </option>
            ))}
          </select>
        </Field>
        <ScopePicker value={form.scope} onChange={(scope) => set({ scope })} defaultLabel={parentKey ? 'as parent' : 'all agents (default)'} />
        <Field label="Expires">
          <select name="expiresIn" value={form.expiresIn} onChange={(e) => set({ expiresIn: e.target.value })}>
            <option value="">{parentKey ? 'as parent' : `type default (${preset?.expiresInDays ? `${preset.expiresInDays} days` : 'never'})`}</option>
            {EXPIRATIONS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <RateLimitRows rows={form.rateLimits} onChange={(rateLimits) => set({ rateLimits })} note={parentKey && !form.rateLimits.length && <span className="hint"> none set here: the parent's apply</span>} />
        <Field label="IP allowlist" hint="Addresses, CIDR ranges or hostnames, separated by commas or new lines.">
          <textarea name="ipAllowlist" rows={2} value={form.ipAllowlist} onChange={(e) => set({ ipAllowlist: e.target.value })} placeholder="10.0.0.0/8, 203.0.113.7" />
        </Field>
        <div className="inline">
          <Field label="Quota (units)">
            <input name="quotaUnits" inputMode="numeric" value={form.quotaUnits} onChange={(e) => set({ quotaUnits: e.target.value })} placeholder="none" />
          </Field>
          <Field label="per">
            <select value={form.quotaPeriod} onChange={(e) => set({ quotaPeriod: e.target.value as 'DAY' | 'MONTH' })}>
              <option value="DAY">day</option>
              <option value="MONTH">month</option>
            </select>
          </Field>
          <Field label="Concurrent requests">
            <input name="maxConcurrent" inputMode="numeric" value={form.maxConcurrent} onChange={(e) => set({ maxConcurrent: e.target.value })} placeholder="unlimited" />
          </Field>
          <Field label="Rotate every (days)">
            <input name="rotationPeriodDays" inputMode="numeric" value={form.rotationPeriodDays} onChange={(e) => set({ rotationPeriodDays: e.target.value })} placeholder={parentKey ? 'as parent' : 'type default'} />
          </Field>
        </div>
        <ErrorBanner error={formError ?? create.error ?? derive.error} />
        {!formError && (create.code ?? derive.code) === 'APPROVAL_REQUIRED' && (
          <p className="hint" data-testid="approval-required">
            The approval policy covers this key: <a href={href({ page: 'requests' })}>request it</a> with a justification instead. Another person approves it, then you claim it and see its secret.
          </p>
        )}
        <div className="actions">
          <button className="primary" type="submit" disabled={create.pending || derive.pending}>
            {parentKey ? 'Derive key' : 'Create key'}
          </button>
        </div>
      </form>
      {issued && <IssuedKeyReveal issued={issued} onClose={() => setIssued(null)} />}
    </section>
  );
}

function presetHint(p: Preset): string {
  const parts = [
    `${permissionLabel(p.permission)}`,
    p.expiresInDays ? `expires in ${p.expiresInDays} days` : 'never expires',
    p.rateLimits.map((r) => `${r.limit}/${r.window.toLowerCase()}`).join(', '),
    p.rotationPeriodDays ? `rotation every ${p.rotationPeriodDays} days` : 'rotation after each use',
  ];
  if (p.requiresIpAllowlist) parts.push('IP allowlist required');
  return `Preset: ${parts.filter(Boolean).join(' · ')}`;
}
