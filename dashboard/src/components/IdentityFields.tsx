import { errorAt, type IdentityForm } from '../grants';
import { ApiField } from './ApiField';
import { RateLimitRows } from './RateLimitRows';

// An identity's fields (externalId, metadata, and the rate limits and quota all of its keys
// share), for the create form and the edit dialog. The API's message shows by its field.

export function IdentityFields({ value, onChange, error, idPrefix }: { value: IdentityForm; onChange: (f: IdentityForm) => void; error: unknown; idPrefix: string }) {
  const set = (patch: Partial<IdentityForm>) => onChange({ ...value, ...patch });
  const limitsError = errorAt(error, 'input.rateLimits');
  const id = (f: string) => `${idPrefix}-${f}`;
  return (
    <>
      <ApiField id={id('externalId')} label="External id" hint="Your own id for the customer or system, unique in the account." error={errorAt(error, 'input.externalId')}>
        {(p) => <input {...p} name="externalId" value={value.externalId} onChange={(e) => set({ externalId: e.target.value })} placeholder="cust_42" />}
      </ApiField>
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
        <ApiField id={id('quotaUnits')} label="Quota (units)" hint="Shared by all of its keys." error={errorAt(error, 'input.quota')}>
          {(p) => <input {...p} name="quotaUnits" inputMode="numeric" value={value.quotaUnits} onChange={(e) => set({ quotaUnits: e.target.value })} placeholder="none" />}
        </ApiField>
        <ApiField id={id('quotaPeriod')} label="Quota period" error={null}>
          {(p) => (
            <select {...p} name="quotaPeriod" value={value.quotaPeriod} onChange={(e) => set({ quotaPeriod: e.target.value as 'DAY' | 'MONTH' })}>
              <option value="DAY">per day</option>
              <option value="MONTH">per month</option>
            </select>
          )}
        </ApiField>
      </div>
      <ApiField id={id('metadata')} label="Metadata (JSON object)" error={errorAt(error, 'input.metadata')}>
        {(p) => <textarea {...p} name="metadata" rows={3} className="mono" value={value.metadata} onChange={(e) => set({ metadata: e.target.value })} placeholder='{ "plan": "pro" }' />}
      </ApiField>
    </>
  );
}
