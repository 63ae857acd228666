import type { ReactNode } from 'react';
import type { RateLimitRow } from '../limits';
import type { RateWindow } from '../types';

export { parseRateLimits, type RateLimitRow } from '../limits';

export function RateLimitRows({ rows, onChange, note }: { rows: RateLimitRow[]; onChange: (rows: RateLimitRow[]) => void; note?: ReactNode }) {
  const change = (i: number, patch: Partial<RateLimitRow>) => onChange(rows.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  return (
    <fieldset>
      <legend>Rate limits</legend>
      {rows.map((r, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the rows are controlled inputs with no state of their own; their place is their identity.
        <div className="inline" key={i}>
          <input aria-label={`Requests per ${r.window.toLowerCase()}`} inputMode="numeric" value={r.limit} onChange={(e) => change(i, { limit: e.target.value })} />
          <select value={r.window} aria-label="Window" onChange={(e) => change(i, { window: e.target.value as RateWindow })}>
            <option value="MINUTE">per minute</option>
            <option value="HOUR">per hour</option>
            <option value="DAY">per day</option>
          </select>
          <button type="button" onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { window: 'HOUR', limit: '' }])}>
        Add a window
      </button>
      {note}
    </fieldset>
  );
}
