import { useState } from 'react';
import { useMutation, useQuery } from '../hooks';
import { href } from '../router';
import { formatDate } from '../format';
import { ErrorBanner, Loading, Segmented } from '../components/common';
import type { Connection } from '../types';
import { usePowers } from '../viewer';

const EVENTS_QUERY = `query SecurityEvents($filter: SecurityEventFilter) {
  securityEvents(first: 100, filter: $filter) {
    edges { node { id kind severity ip details createdAt acknowledgedAt key { id name start } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const ACKNOWLEDGE = `mutation Acknowledge($id: ID!) { acknowledgeSecurityEvent(id: $id) { id acknowledgedAt } }`;

interface SecurityEventRow {
  id: string;
  kind: string;
  severity: string;
  ip: string | null;
  details: unknown;
  createdAt: string;
  acknowledgedAt: string | null;
  key: { id: string; name: string; start: string } | null;
}

export function SecurityPage() {
  const [show, setShow] = useState<'open' | 'all'>('open');
  const { data, error, loading, reload } = useQuery<{ securityEvents: Connection<SecurityEventRow> }>(EVENTS_QUERY, { filter: show === 'open' ? { acknowledged: false } : {} });
  const { write } = usePowers();
  const ack = useMutation<{ acknowledgeSecurityEvent: { id: string } }>(ACKNOWLEDGE);
  const acknowledge = async (id: string) => {
    if (await ack.run({ id })) reload();
  };
  return (
    <section>
      <div className="page-head">
        <h1>Security events</h1>
        <Segmented
          label="Show"
          value={show}
          options={[
            ['open', 'Open'],
            ['all', 'All'],
          ]}
          onChange={setShow}
        />
      </div>
      <ErrorBanner error={error ?? ack.error} />
      {loading && !data ? (
        <Loading what="security events" />
      ) : !data?.securityEvents.edges.length ? (
        <p className="muted">{show === 'open' ? 'No open security events.' : 'No security events.'}</p>
      ) : (
        <table data-testid="security-events">
          <thead>
            <tr>
              <th>severity</th>
              <th>kind</th>
              <th>key</th>
              <th>IP</th>
              <th>when</th>
              <th>details</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data.securityEvents.edges.map(({ node: e }) => (
              <tr key={e.id}>
                <td>
                  <span className={`badge severity-${e.severity.toLowerCase()}`}>{e.severity.toLowerCase()}</span>
                </td>
                <td>{e.kind}</td>
                <td>{e.key ? <a href={href({ page: 'key', id: e.key.id })}>{e.key.name}</a> : '—'}</td>
                <td className="mono">{e.ip ?? ''}</td>
                <td>{formatDate(e.createdAt)}</td>
                <td className="details">
                  <code>{JSON.stringify(e.details)}</code>
                </td>
                <td>
                  {e.acknowledgedAt ? (
                    <span className="muted">acknowledged {formatDate(e.acknowledgedAt)}</span>
                  ) : (
                    write && (
                      <button type="button" disabled={ack.pending} onClick={() => acknowledge(e.id)}>
                        Acknowledge
                      </button>
                    )
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
