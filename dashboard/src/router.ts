import { useEffect, useState } from 'react';

// Hash routes (#/keys/<id>): the page never needs a server-side fallback, and nothing secret
// ever goes into the address.

export type Route =
  | { page: 'overview' }
  | { page: 'keys'; expiringDays?: number }
  | { page: 'key'; id: string }
  | { page: 'new-key'; parentId?: string }
  | { page: 'security' }
  | { page: 'agents' }
  | { page: 'denials'; code: string }
  | { page: 'webhooks' }
  | { page: 'compliance' }
  | { page: 'requests' }
  | { page: 'operators' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'keys':
      if (parts[1] === 'new') return { page: 'new-key', parentId: parts[2] };
      if (parts[1] === 'expiring' && /^\d+$/.test(parts[2] ?? '')) return { page: 'keys', expiringDays: Number(parts[2]) };
      if (parts[1]) return { page: 'key', id: parts[1] };
      return { page: 'keys' };
    case 'security':
      return { page: 'security' };
    case 'agents':
      return { page: 'agents' };
    case 'denials':
      return parts[1] ? { page: 'denials', code: parts[1] } : { page: 'overview' };
    case 'webhooks':
      return { page: 'webhooks' };
    case 'compliance':
      return { page: 'compliance' };
    case 'requests':
      return { page: 'requests' };
    case 'operators':
      return { page: 'operators' };
    default:
      return { page: 'overview' };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case 'key':
      return `#/keys/${encodeURIComponent(route.id)}`;
    case 'new-key':
      return route.parentId ? `#/keys/new/${encodeURIComponent(route.parentId)}` : '#/keys/new';
    case 'denials':
      return `#/denials/${encodeURIComponent(route.code)}`;
    case 'keys':
      return route.expiringDays ? `#/keys/expiring/${route.expiringDays}` : '#/keys';
    default:
      return `#/${route.page}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
