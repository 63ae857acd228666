import { createContext, useContext } from 'react';

// Who is signed in (a pasted key, or a person through single sign-on) and what the pages may
// offer them. The server decides every request; this only hides what would be refused.

export type OperatorRole = 'OWNER' | 'ADMIN' | 'AUDITOR';
export const OPERATOR_ROLES: OperatorRole[] = ['OWNER', 'ADMIN', 'AUDITOR'];

export const VIEWER_QUERY = `query Viewer {
  viewer {
    account { id name }
    key { id name start master permission effectivePermission }
    operator { id email name role }
  }
}`;

export interface ViewerInfo {
  account: { id: string; name: string };
  /** The signed-in key; null for a person. */
  key: { id: string; name: string; start: string; master: boolean; permission: string; effectivePermission: string } | null;
  /** The signed-in person; null for a key. */
  operator: { id: string; email: string; name: string | null; role: OperatorRole } | null;
}

export interface Powers {
  /** Reads about the whole account (compliance, overview totals, live events, operators): a master key or any person. */
  accountWide: boolean;
  /** Changes anything at all: every key and person but an AUDITOR. */
  write: boolean;
  /** Creates top-level keys and agents, as a master key: a master key, an OWNER or an ADMIN. */
  master: boolean;
  /** Manages operators and the approval policy: a master key or an OWNER. */
  managePeople: boolean;
  /** Approves or rejects key requests: people only, an OWNER or an ADMIN. */
  approve: boolean;
  /** A key that administers its subtree (MANAGE or FULL_ACCESS). */
  managesKeys: boolean;
}

export function powersOf(v: ViewerInfo): Powers {
  const role = v.operator?.role ?? null;
  const masterKey = v.key?.master ?? false;
  const admin = role === 'OWNER' || role === 'ADMIN';
  return {
    accountWide: masterKey || role !== null,
    write: role !== 'AUDITOR',
    master: masterKey || admin,
    managePeople: masterKey || role === 'OWNER',
    approve: admin,
    managesKeys: masterKey || admin || v.key?.effectivePermission === 'MANAGE' || v.key?.effectivePermission === 'FULL_ACCESS',
  };
}

/** The signed-in viewer's name for the top bar. */
export function viewerLabel(v: ViewerInfo): string {
  if (v.operator) return `${v.operator.name ?? v.operator.email} (${v.operator.role.toLowerCase()})`;
  return v.key?.name ?? '';
}

export const ViewerContext = createContext<ViewerInfo | null>(null);

/** What the signed-in viewer may do; everything false outside the signed-in app. */
export function usePowers(): Powers {
  const v = useContext(ViewerContext);
  return v ? powersOf(v) : { accountWide: false, write: false, master: false, managePeople: false, approve: false, managesKeys: false };
}
