import { useEffect, useState, type FormEvent } from 'react';
import { errorText, gql, signInOptions, ssoSignInUrl } from '../api';
import { storeKey } from '../session';
import { VIEWER_QUERY, type ViewerInfo } from '../viewer';
import { ErrorBanner, Loading } from '../components/common';

export { VIEWER_QUERY, type ViewerInfo } from '../viewer';

// People sign in through the identity provider (when Keywarden has one); a pasted key is offered
// as well when DASHBOARD_KEY_SIGNIN allows it (by default only without single sign-on).

export function SignIn({ onSignedIn }: { onSignedIn: (v: ViewerInfo) => void }) {
  const [options, setOptions] = useState<{ sso: boolean; keySignin: boolean } | null>(null);
  useEffect(() => {
    signInOptions().then(setOptions);
  }, []);
  if (!options) return <Loading what="the sign-in options" />;
  const returnTo = `${window.location.pathname}${window.location.hash}`;
  return (
    <div className="signin">
      <h1>Keywarden</h1>
      {options.sso && (
        <div className="sso">
          <a className="button primary" href={ssoSignInUrl(returnTo)}>
            Sign in with SSO
          </a>
          <p className="hint">Through your organisation's identity provider, as the person you were invited as.</p>
        </div>
      )}
      {options.sso && options.keySignin && <p className="divider muted">or</p>}
      {options.keySignin && <KeySignIn onSignedIn={onSignedIn} />}
      {!options.sso && !options.keySignin && <ErrorBanner error="This Keywarden offers no dashboard sign-in: configure single sign-on (OIDC_ISSUER) or set DASHBOARD_KEY_SIGNIN=true." />}
    </div>
  );
}

function KeySignIn({ onSignedIn }: { onSignedIn: (v: ViewerInfo) => void }) {
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
    <form onSubmit={submit} autoComplete="off">
      <label htmlFor="signin-key">API key</label>
      <input id="signin-key" name="keywarden-key" type="password" autoComplete="off" spellCheck={false} placeholder="ak_root_…" value={secret} onChange={(e) => setSecret(e.target.value)} />
      <p className="hint">A master key manages the whole account; a MANAGE or FULL_ACCESS key manages the keys derived from it. The key stays in this tab's session storage and is forgotten when the tab closes.</p>
      <ErrorBanner error={error} />
      <button className="primary" type="submit" disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
