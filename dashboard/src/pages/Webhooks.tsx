import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../hooks';
import { formatDate, splitList } from '../format';
import { ErrorBanner, Field, GraceSelect, Loading, SecretReveal } from '../components/common';
import type { Connection } from '../types';
import { usePowers } from '../viewer';

const ENDPOINTS_QUERY = `query Endpoints { webhookEndpoints { id url eventTypes description enabled disabledReason createdAt } }`;
const DELIVERIES_QUERY = `query Deliveries($endpointId: ID!) {
  webhookDeliveries(endpointId: $endpointId, first: 25) {
    edges { node { id status createdAt deliveredAt nextAttemptAt event { id type }
      attempts { attemptedAt statusCode durationMs error responseExcerpt } } }
  }
}`;
const CREATE_ENDPOINT = `mutation CreateEndpoint($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url } } }`;
const SET_ENABLED = `mutation SetEnabled($id: ID!, $enabled: Boolean!) { updateWebhookEndpoint(id: $id, input: { enabled: $enabled }) { id enabled disabledReason } }`;
const ROTATE_SECRET = `mutation RotateSecret($id: ID!, $grace: Int) { rotateWebhookSecret(id: $id, gracePeriodSeconds: $grace) { secret endpoint { id url } } }`;
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

interface SecretPayload {
  secret: string;
  endpoint: { id: string; url: string };
}

export function WebhooksPage() {
  const { data, error, loading, reload } = useQuery<{ webhookEndpoints: Endpoint[] }>(ENDPOINTS_QUERY);
  const { write } = usePowers();
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<SecretPayload | null>(null);
  const issued = (p: SecretPayload) => {
    setAdding(false);
    setSecret(p);
    reload();
  };
  return (
    <section>
      <div className="page-head">
        <h1>Webhook endpoints</h1>
        {write && !adding && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add endpoint
          </button>
        )}
      </div>
      {adding && <NewEndpointForm onCancel={() => setAdding(false)} onCreated={issued} />}
      <ErrorBanner error={error} />
      {loading && !data ? (
        <Loading what="endpoints" />
      ) : !data?.webhookEndpoints.length ? (
        <p className="muted">No endpoints.</p>
      ) : (
        data.webhookEndpoints.map((e) => <EndpointCard key={e.id} endpoint={e} onChanged={reload} onSecret={issued} />)
      )}
      {secret && <SecretReveal secrets={[{ label: `Signing secret for ${secret.endpoint.url}`, secret: secret.secret }]} onDone={() => setSecret(null)} />}
    </section>
  );
}

function NewEndpointForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (p: SecretPayload) => void }) {
  const [url, setUrl] = useState('');
  const [eventTypes, setEventTypes] = useState('*');
  const [description, setDescription] = useState('');
  const create = useMutation<{ createWebhookEndpoint: SecretPayload }>(CREATE_ENDPOINT);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const types = splitList(eventTypes);
    const d = await create.run({ input: { url: url.trim(), eventTypes: types, description: description.trim() || null } });
    if (d) onCreated(d.createWebhookEndpoint);
  };
  return (
    <form className="card form" onSubmit={submit} noValidate>
      <Field label="URL" hint="http(s); addresses on private networks are refused unless the server allows them.">
        <input name="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/keywarden" />
      </Field>
      <Field label="Event types" hint="*, a prefix such as key.*, or exact types (key.revoked, security.alert, …), separated by commas.">
        <input name="eventTypes" value={eventTypes} onChange={(e) => setEventTypes(e.target.value)} />
      </Field>
      <Field label="Description">
        <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <ErrorBanner error={create.error} />
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={create.pending}>
          Add endpoint
        </button>
      </div>
    </form>
  );
}

function EndpointCard({ endpoint, onChanged, onSecret }: { endpoint: Endpoint; onChanged: () => void; onSecret: (p: SecretPayload) => void }) {
  const { write } = usePowers();
  const [open, setOpen] = useState(false);
  const [rotating, setRotating] = useState(false);
  const [grace, setGrace] = useState(86400);
  const setEnabled = useMutation<{ updateWebhookEndpoint: { id: string } }>(SET_ENABLED);
  const rotate = useMutation<{ rotateWebhookSecret: SecretPayload }>(ROTATE_SECRET);
  const toggle = async () => {
    if (await setEnabled.run({ id: endpoint.id, enabled: !endpoint.enabled })) onChanged();
  };
  const rotateSecret = async () => {
    const d = await rotate.run({ id: endpoint.id, grace });
    if (d) {
      setRotating(false);
      onSecret(d.rotateWebhookSecret);
    }
  };
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
          {write && (
            <>
              <button type="button" disabled={setEnabled.pending} onClick={toggle}>
                {endpoint.enabled ? 'Disable' : 'Enable'}
              </button>
              <button type="button" onClick={() => setRotating(!rotating)}>
                Rotate secret
              </button>
            </>
          )}
          <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide deliveries' : 'Deliveries'}
          </button>
        </div>
      </div>
      {endpoint.disabledReason && <p className="warning">{endpoint.disabledReason}</p>}
      <ErrorBanner error={setEnabled.error ?? rotate.error} />
      {rotating && (
        <div className="inline">
          <GraceSelect value={grace} onChange={setGrace} />
          <span className="hint">During the grace period every delivery carries two signatures, one per secret.</span>
          <button type="button" className="primary" disabled={rotate.pending} onClick={rotateSecret}>
            Issue a new secret
          </button>
        </div>
      )}
      {open && <Deliveries endpointId={endpoint.id} />}
    </div>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const { data, error, loading, reload } = useQuery<{ webhookDeliveries: Connection<Delivery> }>(DELIVERIES_QUERY, { endpointId });
  const redeliver = useMutation<{ redeliverWebhook: { id: string } }>(REDELIVER);
  const sendTest = useMutation<{ sendTestWebhook: { id: string } }>(SEND_TEST);
  const [expanded, setExpanded] = useState<string | null>(null);
  const { write } = usePowers();
  return (
    <div>
      <div className="actions">
        {write && (
          <button type="button" onClick={async () => (await sendTest.run({ id: endpointId })) && reload()}>
            Send test event
          </button>
        )}
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
              <DeliveryRows key={d.id} d={d} expanded={expanded === d.id} onToggle={() => setExpanded(expanded === d.id ? null : d.id)} onRedeliver={async () => (await redeliver.run({ id: d.id })) && reload()} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function DeliveryRows({ d, expanded, onToggle, onRedeliver }: { d: Delivery; expanded: boolean; onToggle: () => void; onRedeliver: () => void }) {
  const { write } = usePowers();
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
          {d.status !== 'PENDING' && write && (
            <button type="button" onClick={onRedeliver}>
              Redeliver
            </button>
          )}
        </td>
      </tr>
      {expanded &&
        d.attempts.map((a, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a read-only list of attempts replaced whole on each load, in attempt order.
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
