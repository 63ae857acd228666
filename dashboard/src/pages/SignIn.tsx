import { useState, type FormEvent } from 'react';
import { errorText, gql } from '../api';
import { storeKey } from '../session';
import { ErrorBanner } from '../components/common';

export const VIEWER_QUERY = `query Viewer { viewer { account { id name } key { id name start master permission effectivePermission } } }`;

export interface ViewerInfo {
  account: { id: string; name: string };
  key: { id: string; name: string; start: string; master: boolean; permission: string; effectivePermission: string };
}

export function SignIn({ onSignedIn }: { onSignedIn: (v: ViewerInfo) => void }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = secret.trim();
    if (!value) return setError('Paste a key first.');
    setPending(true);
    setError(null);
    try {
      const d = await gql<{ viewer: ViewerInfo }>(VIEWER_QUERY, {}, value);
      storeKey(value);
      setSecret('');
      onSignedIn(d.viewer);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setPending(false);
    }
  };

  return (
    <div className="signin">
      <h1>Keywarden</h1>
      <form onSubmit={submit} autoComplete="off">
        <label htmlFor="signin-key">API key</label>
        <input id="signin-key" name="keywarden-key" type="password" autoComplete="off" spellCheck={false} placeholder="ak_root_…" value={secret} onChange={(e) => setSecret(e.target.value)} />
        <p className="hint">A master key manages the whole account; a MANAGE or FULL_ACCESS key manages the keys derived from it. The key stays in this tab's session storage and is forgotten when the tab closes.</p>
        <ErrorBanner error={error} />
        <button className="primary" type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
