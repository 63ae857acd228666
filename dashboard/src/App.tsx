import { useEffect, useState } from 'react';
import { endSession, gql, onSignedOut } from './api';
import { forgetKey, storedKey } from './session';
import { href, useRoute } from './router';
import { SignIn } from './pages/SignIn';
import { powersOf, VIEWER_QUERY, ViewerContext, viewerLabel, type ViewerInfo } from './viewer';
import { KeysPage } from './pages/Keys';
import { KeyDetailPage } from './pages/KeyDetail';
import { NewKeyPage } from './pages/NewKey';
import { SecurityPage } from './pages/Security';
import { WebhooksPage } from './pages/Webhooks';
import { CompliancePage } from './pages/Compliance';
import { OverviewPage } from './pages/Overview';
import { AgentsPage } from './pages/Agents';
import { DenialsPage } from './pages/Denials';
import { OperatorsPage } from './pages/Operators';
import { RequestsPage } from './pages/Requests';
import { Loading } from './components/common';
import { LiveToasts } from './components/LiveToasts';

export function App() {
  const [viewer, setViewer] = useState<ViewerInfo | null>(null);
  // A pasted key in this tab, or else perhaps a single sign-on session (its cookie is HttpOnly: only the server can tell).
  const [checking, setChecking] = useState(true);
  const route = useRoute();

  useEffect(() => onSignedOut(() => setViewer(null)), []);
  useEffect(() => {
    if (!checking) return;
    gql<{ viewer: ViewerInfo }>(VIEWER_QUERY).then(
      (d) => {
        setViewer(d.viewer);
        setChecking(false);
      },
      () => {
        forgetKey();
        setChecking(false);
      },
    );
  }, [checking]);

  if (checking) return <Loading what="your session" />;
  if (!viewer) return <SignIn onSignedIn={setViewer} />;

  const signOut = async () => {
    if (storedKey()) forgetKey();
    else await endSession();
    setViewer(null);
  };
  const powers = powersOf(viewer);
  const nav: [string, string][] = [
    ['overview', 'Overview'],
    ['keys', 'Keys'],
    ['agents', 'Agents'],
    ['security', 'Security events'],
    ['webhooks', 'Webhooks'],
    ['compliance', 'Compliance'],
    ['requests', 'Requests'],
  ];
  if (powers.accountWide) nav.push(['operators', 'People']);
  const current = route.page === 'key' || route.page === 'new-key' ? 'keys' : route.page === 'denials' ? 'overview' : route.page;
  return (
    <ViewerContext.Provider value={viewer}>
      <div className="app">
        <header className="topbar">
          <a className="brand" href="#/overview">
            Keywarden
          </a>
          <nav>
            {nav.map(([page, label]) => (
              <a key={page} href={`#/${page}`} className={current === page ? 'active' : undefined}>
                {label}
              </a>
            ))}
          </nav>
          <div className="whoami">
            <span title={viewer.key?.start ?? viewer.operator?.email} data-testid="whoami">
              {viewer.account.name} · {viewerLabel(viewer)}
            </span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        </header>
        <main>
          {route.page === 'overview' && <OverviewPage viewer={viewer} />}
          {route.page === 'keys' && <KeysPage viewer={viewer} expiringDays={route.expiringDays} key={route.expiringDays ?? 'all'} />}
          {route.page === 'key' && <KeyDetailPage id={route.id} viewer={viewer} key={route.id} />}
          {route.page === 'new-key' && <NewKeyPage parentId={route.parentId} viewer={viewer} key={route.parentId ?? '(top level)'} />}
          {route.page === 'agents' && <AgentsPage viewer={viewer} />}
          {route.page === 'denials' && <DenialsPage code={route.code} key={route.code} />}
          {route.page === 'security' && <SecurityPage />}
          {route.page === 'webhooks' && <WebhooksPage />}
          {route.page === 'compliance' && <CompliancePage />}
          {route.page === 'requests' && <RequestsPage viewer={viewer} />}
          {route.page === 'operators' && <OperatorsPage viewer={viewer} />}
        </main>
        <LiveToasts viewer={viewer} />
        <footer className="muted">
          <a href={href({ page: 'keys' })}>Keys</a> · GraphQL explorer at <a href="../graphql">/graphql</a>
        </footer>
      </div>
    </ViewerContext.Provider>
  );
}
