import { useState } from 'react';
import { useMutation, useQuery } from '../hooks';
import { formatDate } from '../format';
import { ErrorBanner, Loading } from '../components/common';
import type { Connection } from '../types';

const ENDPOINTS_QUERY = `query Endpoints { webhookEndpoints { id url eventTypes description enabled disabledReason createdAt } }`;
const DELIVERIES_QUERY = `query Deliveries($endpointId: ID!) {
  webhookDeliveries(endpointId: $endpointId, first: 25) {
    edges { node { id status createdAt deliveredAt nextAttemptAt event { id type }
      attempts { attemptedAt statusCode durationMs error responseExcerpt } } }
  }
}`;
const REDELIVER = `mutation Redeliver($id: ID!) { redeliverWebhook(deliveryId: $id) { id status } }`;
const SEND_TEST = `mutation SendTest($id: ID!) { sendTestWebhook(endpointId: $id) { id status } }`;

interface Endpoint {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
}

interface Delivery {
  id: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
  event: { id: string; type: string };
  attempts: { attemptedAt: string; statusCode: number | null; durationMs: number; error: string | null; responseExcerpt: string | null }[];
}

export function WebhooksPage() {
  const { data, error, loading } = useQuery<{ webhookEndpoints: Endpoint[] }>(ENDPOINTS_QUERY);
  return (
    <section>
      <div className="page-head">
        <h1>Webhook endpoints</h1>
      </div>
      <p className="hint">Endpoints are registered with the createWebhookEndpoint mutation (the signing secret is shown once there).</p>
      <ErrorBanner error={error} />
      {loading && !data ? <Loading what="endpoints" /> : !data?.webhookEndpoints.length ? <p className="muted">No endpoints.</p> : data.webhookEndpoints.map((e) => <EndpointCard key={e.id} endpoint={e} />)}
    </section>
  );
}

function EndpointCard({ endpoint }: { endpoint: Endpoint }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="card" data-endpoint-id={endpoint.id}>
      <div className="page-head">
        <div>
          <h2 className="mono">{endpoint.url}</h2>
          <div className="muted">
            {endpoint.eventTypes.join(', ')} {endpoint.description && `· ${endpoint.description}`}
          </div>
        </div>
        <div className="badges">
          <span className={`badge ${endpoint.enabled ? 'status-active' : 'status-revoked'}`}>{endpoint.enabled ? 'enabled' : 'disabled'}</span>
          <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide deliveries' : 'Deliveries'}
          </button>
        </div>
      </div>
      {endpoint.disabledReason && <p className="warning">{endpoint.disabledReason}</p>}
      {open && <Deliveries endpointId={endpoint.id} />}
    </div>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const { data, error, loading, reload } = useQuery<{ webhookDeliveries: Connection<Delivery> }>(DELIVERIES_QUERY, { endpointId });
  const redeliver = useMutation<{ redeliverWebhook: { id: string } }>(REDELIVER);
  const sendTest = useMutation<{ sendTestWebhook: { id: string } }>(SEND_TEST);
  const [expanded, setExpanded] = useState<string | null>(null);
  return (
    <div>
      <div className="actions">
        <button type="button" onClick={async () => (await sendTest.run({ id: endpointId })) && reload()}>
          Send test event
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={error ?? redeliver.error ?? sendTest.error} />
      {loading && !data ? (
        <Loading what="deliveries" />
      ) : !data?.webhookDeliveries.edges.length ? (
        <p className="muted">No deliveries yet.</p>
      ) : (
        <table data-testid="deliveries">
          <thead>
            <tr>
              <th>event</th>
              <th>status</th>
              <th>attempts</th>
              <th>created</th>
              <th>delivered / next</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data.webhookDeliveries.edges.map(({ node: d }) => (
              <DeliveryRows
                key={d.id}
                d={d}
                expanded={expanded === d.id}
                onToggle={() => setExpanded(expanded === d.id ? null : d.id)}
                onRedeliver={async () => (await redeliver.run({ id: d.id })) && reload()}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function DeliveryRows({ d, expanded, onToggle, onRedeliver }: { d: Delivery; expanded: boolean; onToggle: () => void; onRedeliver: () => void }) {
  return (
    <>
      <tr>
        <td>
          {d.event.type} <span className="mono muted">{d.event.id}</span>
        </td>
        <td>
          <span className={`badge delivery-${d.status.toLowerCase()}`}>{d.status.toLowerCase()}</span>
        </td>
        <td>
          <button type="button" className="link" onClick={onToggle} aria-expanded={expanded}>
            {d.attempts.length}
          </button>
        </td>
        <td>{formatDate(d.createdAt)}</td>
        <td>{d.deliveredAt ? formatDate(d.deliveredAt) : d.nextAttemptAt ? `next ${formatDate(d.nextAttemptAt)}` : '—'}</td>
        <td>
          {d.status !== 'PENDING' && (
            <button type="button" onClick={onRedeliver}>
              Redeliver
            </button>
          )}
        </td>
      </tr>
      {expanded &&
        d.attempts.map((a, i) => (
          <tr key={i} className="attempt">
            <td colSpan={2}>{formatDate(a.attemptedAt)}</td>
            <td>{a.statusCode ?? 'no answer'}</td>
            <td>{a.durationMs} ms</td>
            <td colSpan={2} className="details">
              {a.error && <span className="denied">{a.error} </span>}
              {a.responseExcerpt && <code>{a.responseExcerpt}</code>}
            </td>
          </tr>
        ))}
    </>
  );
}
