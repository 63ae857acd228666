import { useState } from 'react';
import { useQuery } from '../hooks';
import { last30Days } from '../overview';
import { href } from '../router';
import { KeyTotals } from '../components/KeyTotals';
import { ErrorBanner, Loading } from '../components/common';

// The list behind one number of the overview's denials: the keys denied with this code over the
// same 30 days, most such denials first (from the rollups, as the overview).

const DENIALS_QUERY = `query Denials($from: DateTime!, $to: DateTime!, $code: String!) {
  viewer { account { topKeys(from: $from, to: $to, first: 100, deniedCode: $code) { key { id name start } requests denied } } }
}`;

interface Denials {
  viewer: { account: { topKeys: { key: { id: string; name: string; start: string }; requests: number; denied: number }[] } };
}

export function DenialsPage({ code }: { code: string }) {
  const [range] = useState(last30Days);
  const { data, error, loading } = useQuery<Denials>(DENIALS_QUERY, { ...range, code });
  if (loading && !data) return <Loading what="denials" />;
  const rows = data?.viewer.account.topKeys ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>
          Denied with <code>{code}</code>
        </h1>
      </div>
      <p className="muted">Keys denied with this code in the last 30 days, most such denials first.</p>
      <ErrorBanner error={error} />
      {rows.length === 0 ? (
        <p className="muted">No key was denied with this code.</p>
      ) : (
        <KeyTotals
          label={`Keys denied with ${code}`}
          rows={rows}
          columns={[
            [`denied with ${code}`, (r) => r.denied],
            ['all requests', (r) => r.requests],
          ]}
        />
      )}
      <a href={href({ page: 'overview' })}>Back to the overview</a>
    </section>
  );
}
