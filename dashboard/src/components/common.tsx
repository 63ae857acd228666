import { useEffect, useRef, useState, type ReactNode } from 'react';
import { HEALTH_LABEL, keyHealth, type HealthInput } from '../health';
import { navigate } from '../router';
import type { KeySecretPayload, KeyStatus } from '../types';

export function ErrorBanner({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {error}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

export function StatusBadge({ status }: { status: KeyStatus }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{status.toLowerCase()}</span>;
}

export function HealthBadges({ keyInfo }: { keyInfo: HealthInput }) {
  const flags = keyHealth(keyInfo).filter((f) => f !== 'revoked' && f !== 'expired');
  if (!flags.length) return <span className="badge health-ok">healthy</span>;
  return (
    <>
      {flags.map((f) => (
        <span key={f} className={`badge health-${f}`}>
          {HEALTH_LABEL[f]}
        </span>
      ))}
    </>
  );
}

export function Modal({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    ref.current?.querySelector<HTMLElement>('input, button, select, textarea')?.focus();
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

/**
 * A secret is shown here once: it lives only in this component's props, is never written to
 * storage, and disappears when the user confirms they stored it.
 */
/** A newly issued key's secret as SecretReveal lists it: labelled with the key's name and start. */
export function keySecret(issued: KeySecretPayload): { label: string; secret: string } {
  return { label: `${issued.key.name} (${issued.key.start}…)`, secret: issued.secret };
}

/** One new key's secret, shown once; once the user has stored it, the key's page opens. */
export function IssuedKeyReveal({ issued, onClose }: { issued: KeySecretPayload; onClose: () => void }) {
  return (
    <SecretReveal
      secrets={[keySecret(issued)]}
      onDone={() => {
        onClose();
        navigate({ page: 'key', id: issued.key.id });
      }}
    />
  );
}

export function SecretReveal({ secrets, onDone }: { secrets: { label: string; secret: string }[]; onDone: () => void }) {
  const [copied, setCopied] = useState<number | null>(null);
  const copy = async (i: number, secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
    } catch {
      const field = document.getElementById(`secret-${i}`) as HTMLInputElement | null;
      field?.select();
      document.execCommand('copy');
    }
    setCopied(i);
  };
  return (
    <Modal title={secrets.length === 1 ? 'Your new key' : `${secrets.length} new keys`} onClose={() => undefined}>
      <p className="warning" role="note">
        Copy {secrets.length === 1 ? 'this secret' : 'these secrets'} now. Keywarden stores only a digest: once you close this window, {secrets.length === 1 ? 'it' : 'they'} cannot be shown again.
      </p>
      {secrets.map((s, i) => (
        <div className="secret-row" key={s.secret}>
          <label htmlFor={`secret-${i}`}>{s.label}</label>
          <div className="secret-line">
            <input id={`secret-${i}`} className="secret" readOnly value={s.secret} data-testid="secret" onFocus={(e) => e.currentTarget.select()} />
            <button type="button" onClick={() => copy(i, s.secret)}>
              {copied === i ? 'Copied' : 'Copy'}
            </button>
          </div>
        </div>
      ))}
      <div className="actions">
        <button type="button" className="primary" onClick={onDone}>
          I have stored {secrets.length === 1 ? 'it' : 'them'}
        </button>
      </div>
    </Modal>
  );
}

export function Field({ label, children, hint }: { label: string; children: ReactNode; hint?: string }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is `children`, which the rule cannot see.
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="hint">{hint}</span>}
    </label>
  );
}

/** A small group of mutually exclusive buttons (list/tree, open/all, hours/days). */
export function Segmented<T extends string>({ label, value, options, onChange }: { label: string; value: T; options: [T, string][]; onChange: (v: T) => void }) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: a row of toggle buttons, not a form section; a fieldset would bring form semantics and its own styling.
    <div className="segmented" role="group" aria-label={label}>
      {options.map(([v, text]) => (
        <button key={v} type="button" className={value === v ? 'active' : undefined} aria-pressed={value === v} onClick={() => onChange(v)}>
          {text}
        </button>
      ))}
    </div>
  );
}

/** Cancel + the dialog's one action. */
export function DialogActions({ onCancel, onConfirm, confirm, pending, danger }: { onCancel: () => void; onConfirm: () => void; confirm: string; pending: boolean; danger?: boolean }) {
  return (
    <div className="actions">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="button" className={danger ? 'danger' : 'primary'} disabled={pending} onClick={onConfirm}>
        {confirm}
      </button>
    </div>
  );
}

const GRACE_CHOICES: [number, string][] = [
  [0, 'none: the old key stops now'],
  [3600, '1 hour'],
  [86400, '24 hours'],
  [604800, '7 days'],
];

export function GraceSelect({ value, onChange }: { value: number; onChange: (v: number) => void }) {
  return (
    <label className="field">
      <span className="field-label">Grace period for the old key</span>
      <select value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {GRACE_CHOICES.map(([v, label]) => (
          <option key={v} value={v}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A labelled control with the API's message for it (extensions.field) right below, announced. */
export function FieldWithError({ id, label, error, children }: { id: string; label: string; error: string | null; children: ReactNode }) {
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {children}
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
