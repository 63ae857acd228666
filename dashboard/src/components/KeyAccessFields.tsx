import { useQuery } from '../hooks';
import type { FieldErrors } from '../hooks';
import type { AccessForm, CreditsForm, RefillInterval } from '../grants';
import { ErrorBanner, FieldWithError } from './common';

// A key's permission strings, roles, identity and credits, as the new-key form and the edit
// dialog both show them. The API's message for any of them appears by its field.

const CHOICES_QUERY = `query AccessChoices { roles { id name permissions } identities(first: 100) { edges { node { id externalId } } } }`;

interface Choices {
  roles: { id: string; name: string; permissions: string[] }[];
  identities: { edges: { node: { id: string; externalId: string } }[] };
}

export function KeyAccessFields({ value, onChange, errors, noIdentityLabel, hint }: { value: AccessForm; onChange: (f: AccessForm) => void; errors: FieldErrors; noIdentityLabel: string | null; hint?: string }) {
  const choices = useQuery<Choices>(CHOICES_QUERY);
  const set = (patch: Partial<AccessForm>) => onChange({ ...value, ...patch });
  const toggleRole = (id: string) => set({ roleIds: value.roleIds.includes(id) ? value.roleIds.filter((r) => r !== id) : [...value.roleIds, id] });
  const roles = choices.data?.roles ?? [];
  const identities = choices.data?.identities.edges.map((e) => e.node) ?? [];
  const rolesError = errors.at('input.roles');
  return (
    <>
      <ErrorBanner error={choices.error} />
      <FieldWithError id="key-identity" label="Identity" error={errors.at('input.identityId')} hint="The customer or system the key belongs to: its rate limits and quota are shared by all of its keys.">
        {(p) => (
          <select {...p} name="identityId" value={value.identityId} onChange={(e) => set({ identityId: e.target.value })}>
            {noIdentityLabel !== null && <option value="">{noIdentityLabel}</option>}
            {identities.map((i) => (
              <option key={i.id} value={i.id}>
                {i.externalId}
              </option>
            ))}
          </select>
        )}
      </FieldWithError>
      <FieldWithError
        id="key-permissions"
        label="Permission strings"
        error={errors.at('input.permissions')}
        hint={hint ?? 'Dot-separated lower-case segments, e.g. billing.invoices.read or billing.*; separated by commas or new lines.'}
      >
        {(p) => <textarea {...p} name="permissions" rows={2} value={value.permissions} onChange={(e) => set({ permissions: e.target.value })} placeholder="agents.execute, billing.*" />}
      </FieldWithError>
      <fieldset className="members" aria-describedby={rolesError ? 'key-roles-error' : undefined}>
        <legend>Roles</legend>
        {roles.length === 0 && <span className="muted">No roles yet.</span>}
        {roles.map((r) => (
          <label key={r.id} className="check" title={r.permissions.join(', ')}>
            <input type="checkbox" name="roles" value={r.id} checked={value.roleIds.includes(r.id)} onChange={() => toggleRole(r.id)} /> {r.name}
          </label>
        ))}
        {rolesError && (
          <span className="field-error" id="key-roles-error" role="alert">
            {rolesError}
          </span>
        )}
      </fieldset>
      <CreditsFields value={value.credits} onChange={(credits) => set({ credits })} errors={errors} />
    </>
  );
}

function CreditsFields({ value, onChange, errors }: { value: CreditsForm; onChange: (f: CreditsForm) => void; errors: FieldErrors }) {
  const set = (patch: Partial<CreditsForm>) => onChange({ ...value, ...patch });
  return (
    <fieldset>
      <legend>Credits</legend>
      <div className="inline">
        <FieldWithError id="credits-remaining" label="Credits remaining" error={errors.at('input.credits.remaining')}>
          {(p) => <input {...p} name="creditsRemaining" inputMode="numeric" value={value.remaining} onChange={(e) => set({ remaining: e.target.value })} placeholder="unlimited" />}
        </FieldWithError>
        <FieldWithError id="credits-refill-amount" label="Refill to" error={errors.at('input.credits.refill.amount')}>
          {(p) => <input {...p} name="refillAmount" inputMode="numeric" value={value.refillAmount} onChange={(e) => set({ refillAmount: e.target.value })} placeholder="no refill" />}
        </FieldWithError>
        <FieldWithError id="credits-refill-interval" label="Refill every" error={errors.at('input.credits.refill.interval')}>
          {(p) => (
            <select {...p} name="refillInterval" value={value.interval} onChange={(e) => set({ interval: e.target.value as RefillInterval })}>
              <option value="DAILY">day</option>
              <option value="MONTHLY">month</option>
            </select>
          )}
        </FieldWithError>
        <FieldWithError id="credits-refill-day" label="Refill day of month" error={errors.at('input.credits.refill.day')}>
          {(p) => <input {...p} name="refillDay" inputMode="numeric" value={value.day} disabled={value.interval !== 'MONTHLY'} onChange={(e) => set({ day: e.target.value })} placeholder="1" />}
        </FieldWithError>
      </div>
    </fieldset>
  );
}
