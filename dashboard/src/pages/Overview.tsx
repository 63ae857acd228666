import { useState } from 'react';
import { useQuery } from '../hooks';
import { useSecurityEvents, type LiveSecurityEvent } from '../live';
import { complianceScore, last30Days, lastHours, type ComplianceCounts } from '../overview';
import { href } from '../router';
import { formatDate } from '../format';
import { fillBuckets } from '../usage';
import { KeyTotals } from '../components/KeyTotals';
import { ErrorBanner, Loading, Segmented } from '../components/common';
import { UsageChart } from '../components/UsageChart';
import type { Connection, UsagePoint } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

// The dashboard's home: the account at a glance. Every number links to the list behind it;
// security events arrive live (App passes the subscription's events on).

const OVERVIEW_QUERY = `query Overview($dayFrom: DateTime!, $to: DateTime!, $monthFrom: DateTime!, $expiringBefore: DateTime!) {
  viewer { account {
    hourly: usage(from: $dayFrom, to: $to, granularity: HOUR) { start requests allowed denied units bytes }
    daily: usage(from: $monthFrom, to: $to, granularity: DAY) { start requests allowed denied units bytes }
    topKeys(from: $monthFrom, to: $to, first: 5) { key { id name start } requests denied }
    deniedByCode(from: $monthFrom, to: $to) { code count }
  } }
  expiring: keys(first: 50, filter: { status: ACTIVE, expiringBefore: $expiringBefore }) { edges { node { id } } pageInfo { hasNextPage } }
  securityEvents(first: 5, filter: { acknowledged: false }) { edges { node { id kind severity ip createdAt acknowledgedAt key { id name start } } } pageInfo { hasNextPage } }
}`;

const COMPLIANCE_QUERY = `query OverviewCompliance {
  complianceStatus {
    activeKeys { count } neverExpiringKeys { count } rotationOverdueKeys { count }
    productionKeysWithoutIpRestriction { count } unusedKeys { count } expiringSoonKeys { count }
    openSecurityEvents { count }
  }
}`;

interface Overview {
  viewer: {
    account: {
      hourly: UsagePoint[];
      daily: UsagePoint[];
      topKeys: { key: { id: string; name: string; start: string }; requests: number; denied: number }[];
      deniedByCode: { code: string; count: number }[];
    };
  };
  expiring: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean } };
  securityEvents: Connection<LiveSecurityEvent>;
}

interface Compliance {
  complianceStatus: ComplianceCounts & { expiringSoonKeys: { count: number }; rotationOverdueKeys: { count: number }; openSecurityEvents: { count: number } };
}

function ranges() {
  const day = lastHours(24);
  return { dayFrom: day.from, to: day.to, monthFrom: last30Days().from, expiringBefore: new Date(Date.now() + 14 * 86_400_000).toISOString() };
}

export function OverviewPage({ viewer }: { viewer: ViewerInfo }) {
  const [vars] = useState(ranges);
  const [span, setSpan] = useState<'HOUR' | 'DAY'>('HOUR');
  const { data, error, loading } = useQuery<Overview>(OVERVIEW_QUERY, vars);
  const compliance = useQuery<Compliance>(COMPLIANCE_QUERY, {}, { skip: !powersOf(viewer).accountWide });
  const [live, setLive] = useState<LiveSecurityEvent[]>([]);
  useSecurityEvents((e) => setLive((prev) => [e, ...prev.filter((p) => p.id !== e.id)].slice(0, 20)));

  if (loading && !data) return <Loading what="the overview" />;
  if (!data) return <ErrorBanner error={error} />;
  const a = data.viewer.account;
  const points = span === 'HOUR' ? fillBuckets(a.hourly, vars.dayFrom, vars.to, 'HOUR') : fillBuckets(a.daily, vars.monthFrom, vars.to, 'DAY');
  const listed = data.securityEvents.edges.map((e) => e.node);
  const events = [...live, ...listed.filter((e) => !live.some((l) => l.id === e.id))];
  // Counted when the page loaded, plus those that arrived since.
  const arrived = live.filter((l) => !listed.some((e) => e.id === l.id)).length;
  const c = compliance.data?.complianceStatus;
  const expiring = c?.expiringSoonKeys.count ?? data.expiring.edges.length;
  return (
    <section>
      <div className="page-head">
        <h1>Overview</h1>
      </div>
      <ErrorBanner error={error ?? compliance.error} />
      <div className="tiles">
        <Tile label="Keys expiring within 14 days" value={expiring} link={href({ page: 'keys', expiringDays: 14 })} />
        <Tile label="Rotation overdue" value={c?.rotationOverdueKeys.count} link={href({ page: 'compliance' })} />
        <Tile label="Open security events" value={(c?.openSecurityEvents.count ?? listed.length) + arrived} link={href({ page: 'security' })} />
        <Tile label="Compliance score" value={c ? `${complianceScore(c)}%` : undefined} link={href({ page: 'compliance' })} />
      </div>
      <div className="page-head">
        <h2>Requests</h2>
        <Segmented
          label="Period"
          value={span}
          options={[
            ['HOUR', '24 hours'],
            ['DAY', '30 days'],
          ]}
          onChange={setSpan}
        />
      </div>
      <UsageChart points={points} granularity={span} />
      <div className="columns">
        <TopKeys rows={a.topKeys} />
        <DeniedByCode rows={a.deniedByCode} />
      </div>
      <SecurityEventList events={events} />
    </section>
  );
}

function Tile({ label, value, link }: { label: string; value: number | string | undefined; link: string }) {
  return (
    <a className="tile" href={link} aria-label={`${label}: ${value ?? 'not available'}`}>
      <span className="tile-value">{value ?? '–'}</span>
      <span className="tile-label">{label}</span>
    </a>
  );
}

function TopKeys({ rows }: { rows: Overview['viewer']['account']['topKeys'] }) {
  return (
    <div>
      <h2>Top keys (30 days)</h2>
      {rows.length === 0 ? (
        <p className="muted">No traffic yet.</p>
      ) : (
        <KeyTotals
          label="Top keys"
          rows={rows}
          columns={[
            ['requests', (r) => <KeyNumber id={r.key.id} value={r.requests} label={`${r.requests} requests by ${r.key.name}`} />],
            ['denied', (r) => <KeyNumber id={r.key.id} value={r.denied} label={`${r.denied} denied for ${r.key.name}`} />],
          ]}
        />
      )}
    </div>
  );
}

/** A key's number, linking to the key (its page shows the usage behind it). */
function KeyNumber({ id, value, label }: { id: string; value: number; label: string }) {
  return (
    <a href={href({ page: 'key', id })} aria-label={label}>
      {value}
    </a>
  );
}

function DeniedByCode({ rows }: { rows: { code: string; count: number }[] }) {
  return (
    <div>
      <h2>Denials by code (30 days)</h2>
      {rows.length === 0 ? (
        <p className="muted">Nothing denied.</p>
      ) : (
        <table aria-label="Denials by code">
          <thead>
            <tr>
              <th>code</th>
              <th>count</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.code}>
                <td>
                  <a href={href({ page: 'denials', code: r.code })}>
                    <code>{r.code}</code>
                  </a>
                </td>
                <td>
                  <a href={href({ page: 'denials', code: r.code })} aria-label={`${r.count} denied with ${r.code}`}>
                    {r.count}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function SecurityEventList({ events }: { events: LiveSecurityEvent[] }) {
  return (
    <div>
      <h2>Open security events</h2>
      {events.length === 0 ? (
        <p className="muted">None open.</p>
      ) : (
        <ul className="event-list" aria-label="Open security events" aria-live="polite">
          {events.map((e) => (
            <li key={e.id}>
              <span className={`badge severity-${e.severity.toLowerCase()}`}>{e.severity.toLowerCase()}</span> <strong>{e.kind}</strong> {e.key && <a href={href({ page: 'key', id: e.key.id })}>{e.key.name}</a>}{' '}
              <span className="muted">{formatDate(e.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
      <a href={href({ page: 'security' })}>All security events</a>
    </div>
  );
}
