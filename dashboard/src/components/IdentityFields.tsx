import type { FieldErrors } from '../hooks';
import { FieldWithError } from './common';
import type { IdentityForm } from '../grants';
import { RateLimitRows } from './RateLimitRows';

// An identity's fields (externalId, metadata, and the rate limits and quota all of its keys
// share), for the create form and the edit dialog. The API's message shows by its field.

export function IdentityFields({ value, onChange, errors, idPrefix }: { value: IdentityForm; onChange: (f: IdentityForm) => void; errors: FieldErrors; idPrefix: string }) {
  const set = (patch: Partial<IdentityForm>) => onChange({ ...value, ...patch });
  const limitsError = errors.at('input.rateLimits');
  const id = (f: string) => `${idPrefix}-${f}`;
  return (
    <>
      <FieldWithError id={id('externalId')} label="External id" hint="Your own id for the customer or system, unique in the account." error={errors.at('input.externalId')}>
        {(p) => <input {...p} name="externalId" value={value.externalId} onChange={(e) => set({ externalId: e.target.value })} placeholder="cust_42" />}
      </FieldWithError>
      <RateLimitRows
        rows={value.rateLimits}
        onChange={(rateLimits) => set({ rateLimits })}
        note={
          limitsError && (
            <span className="field-error" role="alert">
              {limitsError}
            </span>
          )
        }
      />
      <div className="inline">
        <FieldWithError id={id('quotaUnits')} label="Quota (units)" hint="Shared by all of its keys." error={errors.at('input.quota.units')}>
          {(p) => <input {...p} name="quotaUnits" inputMode="numeric" value={value.quotaUnits} onChange={(e) => set({ quotaUnits: e.target.value })} placeholder="none" />}
        </FieldWithError>
        <FieldWithError id={id('quotaPeriod')} label="Quota period" error={null}>
          {(p) => (
            <select {...p} name="quotaPeriod" value={value.quotaPeriod} onChange={(e) => set({ quotaPeriod: e.target.value as 'DAY' | 'MONTH' })}>
              <option value="DAY">per day</option>
              <option value="MONTH">per month</option>
            </select>
          )}
        </FieldWithError>
      </div>
      <FieldWithError id={id('metadata')} label="Metadata (JSON object)" error={errors.at('input.metadata')}>
        {(p) => <textarea {...p} name="metadata" rows={3} className="mono" value={value.metadata} onChange={(e) => set({ metadata: e.target.value })} placeholder='{ "plan": "pro" }' />}
      </FieldWithError>
    </>
  );
}
