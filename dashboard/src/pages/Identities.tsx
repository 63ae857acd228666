import { useEffect, useState, type FormEvent } from 'react';
import { formErrorOf, useFormMutation, useQuery } from '../hooks';
import { href, navigate } from '../router';
import { formatDate } from '../format';
import { EMPTY_IDENTITY, IDENTITY_PATHS, identityInput } from '../grants';
import { ErrorBanner, Loading } from '../components/common';
import { IdentityFields } from '../components/IdentityFields';
import type { Connection } from '../types';
import { powersOf, type ViewerInfo } from '../viewer';

// Identities: the customers and systems behind several keys, searched by their externalId. A
// master key creates them; the new identity's page opens.

const LIST_QUERY = `query Identities($search: String) {
  identities(first: 50, search: $search) { edges { node { id externalId createdAt rateLimits { window limit } quota { units period } keys(first: 10) { edges { node { id } } pageInfo { hasNextPage } } } } }
}`;
const CREATE = `mutation CreateIdentity($input: CreateIdentityInput!) { createIdentity(input: $input) { id } }`;

interface IdentityRow {
  id: string;
  externalId: string;
  createdAt: string;
  rateLimits: { window: string; limit: number }[];
  quota: { units: number; period: string } | null;
  keys: Connection<{ id: string }>;
}

export const limitsText = (i: { rateLimits: { window: string; limit: number }[]; quota: { units: number; period: string } | null }) =>
  [...i.rateLimits.map((r) => `${r.limit}/${r.window.toLowerCase()}`), i.quota ? `${i.quota.units} units per ${i.quota.period.toLowerCase()}` : null].filter(Boolean).join(', ') || 'none';

export function IdentitiesPage({ viewer }: { viewer: ViewerInfo }) {
  const [searchInput, setSearchInput] = useState('');
  const [search, setSearch] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), 250);
    return () => clearTimeout(t);
  }, [searchInput]);
  const { data, error, loading } = useQuery<{ identities: Connection<IdentityRow> }>(LIST_QUERY, search ? { search } : {});
  const rows = data?.identities.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Identities</h1>
        <a href={href({ page: 'roles' })}>Roles</a>
      </div>
      <p className="hint">An identity is the customer or system behind several keys: its rate limits and quota are shared by all of them.</p>
      {powersOf(viewer).master && <CreateIdentityForm />}
      <div className="filters">
        <label className="field">
          <span className="field-label">Search by external id</span>
          <input type="search" name="search" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} placeholder="cust_" />
        </label>
      </div>
      <ErrorBanner error={error} />
      {loading && !data ? (
        <Loading what="identities" />
      ) : (
        <table data-testid="identities">
          <thead>
            <tr>
              <th>external id</th>
              <th>shared limits</th>
              <th>keys</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => (
              <tr key={i.id}>
                <td>
                  <a href={href({ page: 'identity', id: i.id })}>{i.externalId}</a>
                </td>
                <td>{limitsText(i)}</td>
                <td>{i.keys.pageInfo.hasNextPage ? `${i.keys.edges.length}+` : i.keys.edges.length}</td>
                <td>{formatDate(i.createdAt)}</td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  {search ? `No identity's external id contains "${search}".` : 'No identities yet.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

function CreateIdentityForm() {
  const [form, setForm] = useState(EMPTY_IDENTITY);
  const create = useFormMutation<{ createIdentity: { id: string } }>(CREATE);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let input: Record<string, unknown>;
    try {
      input = identityInput(form);
    } catch (err) {
      return create.setError(formErrorOf(err));
    }
    const d = await create.run({ input });
    if (d) navigate({ page: 'identity', id: d.createIdentity.id });
  };
  return (
    <form className="create-form" onSubmit={submit} aria-label="New identity" noValidate>
      <h3>New identity</h3>
      <IdentityFields value={form} onChange={setForm} errors={create.errors} idPrefix="new-identity" />
      <ErrorBanner error={create.errors.elsewhere(IDENTITY_PATHS)} />
      <button type="submit" className="primary" disabled={create.pending}>
        Create identity
      </button>
    </form>
  );
}
