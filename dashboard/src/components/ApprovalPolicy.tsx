import { useState } from 'react';
import { useFormMutation } from '../hooks';
import { ErrorBanner, FieldWithError } from './common';

// The account's approval policy (the two-person rule): which keys need approved requests, and how
// many people must approve. Everyone sees it; an OWNER (or a master key) changes it.

export interface Policy {
  requireFor: string[];
  approvals: number;
}

const SET_POLICY = `mutation SetApprovalPolicy($input: SetApprovalPolicyInput!) { setApprovalPolicy(input: $input) { requireFor approvals } }`;

const TRIGGERS: [string, string][] = [
  ['HIGH_PRIVILEGE', 'MANAGE or FULL_ACCESS keys'],
  ['EMERGENCY', 'emergency keys'],
  ['MASTER', 'rotating a master key'],
  ['ANY', 'every key'],
];

function describe(p: Policy): string {
  if (!p.requireFor.length) return 'No key needs an approval: keys are created directly.';
  const what = TRIGGERS.filter(([t]) => p.requireFor.includes(t)).map(([, label]) => label);
  return `Needs ${p.approvals} approval${p.approvals === 1 ? '' : 's'} from other people: ${what.join(', ')}.`;
}

export function ApprovalPolicyCard({ policy, editable, onSaved }: { policy: Policy; editable: boolean; onSaved: () => void }) {
  const [editing, setEditing] = useState(false);
  return (
    <div className="card policy" data-testid="approval-policy">
      <div className="page-head">
        <div>
          <h2>Approval policy</h2>
          <p>{describe(policy)}</p>
        </div>
        {editable && !editing && (
          <button type="button" onClick={() => setEditing(true)}>
            Change policy
          </button>
        )}
      </div>
      {editing && (
        <PolicyForm
          policy={policy}
          onDone={(saved) => {
            setEditing(false);
            if (saved) onSaved();
          }}
        />
      )}
    </div>
  );
}

function PolicyForm({ policy, onDone }: { policy: Policy; onDone: (saved: boolean) => void }) {
  const [requireFor, setRequireFor] = useState(new Set(policy.requireFor));
  const [approvals, setApprovals] = useState(String(policy.approvals));
  const save = useFormMutation<{ setApprovalPolicy: Policy }>(SET_POLICY);
  const toggle = (t: string) =>
    setRequireFor((prev) => {
      const next = new Set(prev);
      if (next.has(t)) next.delete(t);
      else next.add(t);
      return next;
    });
  const submit = async () => {
    if (!/^\d+$/.test(approvals.trim())) return save.setError({ field: 'input.approvals', message: 'a whole number of people, from 1' });
    if (await save.run({ input: { requireFor: [...requireFor], approvals: Number(approvals) } })) onDone(true);
  };
  const approvalsError = save.errors.at('input.approvals');
  return (
    <div className="form">
      <fieldset className="members">
        <legend>Require approval for</legend>
        {TRIGGERS.map(([t, label]) => (
          <label key={t} className="check">
            <input type="checkbox" checked={requireFor.has(t)} onChange={() => toggle(t)} /> {label} ({t})
          </label>
        ))}
        {save.errors.at('input.requireFor') && (
          <span className="field-error" role="alert">
            {save.errors.at('input.requireFor')}
          </span>
        )}
      </fieldset>
      <FieldWithError id="policy-approvals" label="Approvals needed" error={approvalsError}>
        <input id="policy-approvals" inputMode="numeric" value={approvals} onChange={(e) => setApprovals(e.target.value)} aria-invalid={!!approvalsError} />
      </FieldWithError>
      <ErrorBanner error={save.errors.elsewhere(['input.requireFor', 'input.approvals'])} />
      <div className="actions">
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={save.pending} onClick={submit}>
          Save policy
        </button>
      </div>
    </div>
  );
}
