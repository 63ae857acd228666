import { useEffect, useState } from 'react';
import { gql, onSignedOut } from './api';
import { forgetKey, storedKey } from './session';
import { href, useRoute } from './router';
import { SignIn, VIEWER_QUERY, type ViewerInfo } from './pages/SignIn';
import { KeysPage } from './pages/Keys';
import { KeyDetailPage } from './pages/KeyDetail';
import { NewKeyPage } from './pages/NewKey';
import { SecurityPage } from './pages/Security';
import { WebhooksPage } from './pages/Webhooks';
import { CompliancePage } from './pages/Compliance';
import { OverviewPage } from './pages/Overview';
import { AgentsPage } from './pages/Agents';
import { IdentitiesPage } from './pages/Identities';
import { IdentityDetailPage } from './pages/IdentityDetail';
import { RolesPage } from './pages/Roles';
import { Loading } from './components/common';
import { LiveToasts } from './components/LiveToasts';

export function App() {
  const [viewer, setViewer] = useState<ViewerInfo | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
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

  const signOut = () => {
    forgetKey();
    setViewer(null);
  };
  const nav: [string, string][] = [
    ['overview', 'Overview'],
    ['keys', 'Keys'],
    ['agents', 'Agents'],
    ['identities', 'Identities'],
    ['roles', 'Roles'],
    ['security', 'Security events'],
    ['webhooks', 'Webhooks'],
    ['compliance', 'Compliance'],
  ];
  const current = route.page === 'key' || route.page === 'new-key' ? 'keys' : route.page === 'identity' ? 'identities' : route.page;
  return (
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
          <span title={viewer.key.start}>
            {viewer.account.name} · {viewer.key.name}
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
        {route.page === 'new-key' && <NewKeyPage parentId={route.parentId} identityId={route.identityId} viewer={viewer} key={route.parentId ?? route.identityId ?? '(top level)'} />}
        {route.page === 'agents' && <AgentsPage viewer={viewer} />}
        {route.page === 'security' && <SecurityPage />}
        {route.page === 'webhooks' && <WebhooksPage />}
        {route.page === 'compliance' && <CompliancePage />}
        {route.page === 'identities' && <IdentitiesPage viewer={viewer} />}
        {route.page === 'identity' && <IdentityDetailPage id={route.id} viewer={viewer} key={route.id} />}
        {route.page === 'roles' && <RolesPage viewer={viewer} />}
      </main>
      <LiveToasts viewer={viewer} />
      <footer className="muted">
        <a href={href({ page: 'keys' })}>Keys</a> · GraphQL explorer at <a href="../graphql">/graphql</a>
      </footer>
    </div>
  );
}
