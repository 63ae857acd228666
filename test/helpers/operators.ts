import type { OperatorRole } from '../../src/generated/prisma/enums';
import { DEFAULT_SESSION_POLICY, SESSION_COOKIE, startSession } from '../../src/operators/sessions';
import type { GqlResult, Harness } from './harness';

// Signed-in people for the GraphQL tests: an operator row and a session made through the domain
// (the OpenID Connect flow itself is tested in oidc-signin.test.ts), and requests sent the way a
// browser on Keywarden's own page sends them (session cookie + Origin).

/** The origin of the harness's yoga.fetch URL: Keywarden's own when no KEYWARDEN_PUBLIC_URL is set. */
export const OWN_ORIGIN = 'http://keywarden.test';

export interface SignedIn {
  id: string;
  email: string;
  cookie: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResult<T>>;
}

export async function signedInOperator(h: Harness, accountId: string, role: OperatorRole, email = `${role.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@example.test`): Promise<SignedIn> {
  const op = await h.db.prisma.operator.create({ data: { accountId, email, role, issuer: 'https://idp.example.test', subject: email } });
  const { token } = await startSession(h.db, op.id, DEFAULT_SESSION_POLICY, null);
  const cookie = `${SESSION_COOKIE}=${token}`;
  return {
    id: op.id,
    email,
    cookie,
    gql: (query, variables, headers = {}) => h.gql(query, variables, null, { cookie, origin: OWN_ORIGIN, ...headers }),
  };
}
