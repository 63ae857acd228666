import type { ReactNode } from 'react';

// A labelled control with the API's message for it right below: the label points at the control
// (htmlFor), and the control names the hint and the message (aria-describedby) and says it is
// invalid, so a screen reader reads the message with the field.

export interface ControlProps {
  id: string;
  'aria-invalid'?: true;
  'aria-describedby'?: string;
}

export function ApiField({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error: string | null; children: (control: ControlProps) => ReactNode }) {
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': described || undefined })}
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
