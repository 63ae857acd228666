import type { ReactNode } from 'react';
import { href } from '../router';

// A table of keys with numbers beside each (the overview's top keys, the keys behind a denial
// count): the key links to its page, each column says what its number counts.

export interface KeyTotalsRow {
  key: { id: string; name: string; start: string };
  requests: number;
  denied: number;
}

export function KeyTotals({ label, rows, columns }: { label: string; rows: KeyTotalsRow[]; columns: [string, (r: KeyTotalsRow) => ReactNode][] }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th>key</th>
          {columns.map(([title]) => (
            <th key={title}>{title}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key.id}>
            <td>
              <a href={href({ page: 'key', id: r.key.id })}>{r.key.name}</a> <code>{r.key.start}…</code>
            </td>
            {columns.map(([title, cell]) => (
              <td key={title}>{cell(r)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
