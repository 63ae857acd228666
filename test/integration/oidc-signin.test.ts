import { Writable } from 'node:stream';
import { createLogger, logger, setLogger } from '../../src/infra/logger';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { startHarness, uniqueName, type Harness } from '../helpers/harness';
import { ok } from '../helpers/gql-fixtures';
import { follow, freePort, newJar, request, startProvider, type CookieJar, type LocalProvider } from '../helpers/oidc';

// README, People and single sign-on: the authorization code flow with PKCE, state and nonce against
// a real OpenID Connect provider (oidc-provider, run by this test on 127.0.0.1), invitations
// matched by verified email, claim-provisioned operators, and every bad callback refused with a
// page that says why, creating nothing.

const CLIENT_ID = 'keywarden-test';
const CLIENT_SECRET = 'client-secret-that-must-never-be-logged';

let h: Harness;
let provider: LocalProvider;
let base: string;
let acct: Awaited<ReturnType<Harness['newAccount']>>;
let claimAccount: { accountId: string; secret: string };
const claimAccountName = uniqueName('sso-claims');
const logLines: string[] = [];
const originalLogger = logger;

const INVITE = `mutation($input: InviteOperatorInput!) { inviteOperator(input: $input) { id email role } }`;
const VIEWER = `{ viewer { key { id } operator { id email name role lastSignInAt } account { id } } }`;

beforeAll(async () => {
  setLogger(
    createLogger(
      'debug',
      new Writable({
        write(chunk, _enc, cb) {
          logLines.push(String(chunk));
          cb();
        },
      }) as never,
    ),
  );
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startProvider(CLIENT_ID, CLIENT_SECRET, `${base}/auth/callback`);
  const oidc = {
    issuer: provider.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: 'openid email profile groups',
    roleClaim: 'groups',
    roleMap: { 'kw-owners': 'OWNER', 'kw-auditors': 'AUDITOR' } as const,
    account: claimAccountName,
  };
  h = await startHarness({ port, app: { people: { publicUrl: base, oidc, sessions: { idleMinutes: 60, maxHours: 12 } } } });
  acct = await h.newAccount('sso');
  claimAccount = await createAccountWithMasterKey(h.db, claimAccountName);
}, 60_000);

afterAll(async () => {
  setLogger(originalLogger);
  await h?.close();
  await provider?.stop();
});

const emailOf = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}@example.test`;
const subOf = () => `sub-${Math.random().toString(36).slice(2, 12)}`;
const isCallback = (u: URL) => u.origin === base && u.pathname === '/auth/callback';
const isDashboard = (u: URL) => u.origin === base && u.pathname.startsWith('/dashboard');

/** GraphQL over HTTP as the browser on Keywarden's page sends it. */
async function gqlAsBrowser(jar: CookieJar, query: string, origin = base) {
  const res = await request(jar, `${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ query }) });
  return { status: res.status, ...((await res.json()) as any) };
}

/** Login up to the provider's redirect back to Keywarden: the callback URL, not yet requested. */
async function toCallback(jar: CookieJar, returnTo = '/dashboard/'): Promise<string> {
  const { url, res } = await follow(jar, `${base}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, isCallback);
  if (res) throw new Error(`the provider did not redirect back: ${res.status} ${await res.text()}`);
  return url;
}

async function sessionsCount(): Promise<number> {
  return h.db.prisma.operatorSession.count();
}

test('an invited person signs in through the provider: session cookie, viewer, sign-in recorded, sign-out ends it', async () => {
  const email = emailOf('ana');
  const invited = ok(await h.gql(INVITE, { input: { email, role: 'ADMIN' } }, acct.secret)).inviteOperator;
  await provider.setPerson({ sub: subOf(), email: email.toUpperCase(), email_verified: true, name: 'Ana Example' });
  const jar = newJar();
  const { url } = await follow(jar, `${base}/auth/login?returnTo=${encodeURIComponent('/dashboard/#/keys')}`, isDashboard);
  expect(url).toBe(`${base}/dashboard/#/keys`);
  const sessionCookie = jar.setCookies.find((c) => c.startsWith('kw_session='))!;
  expect(sessionCookie).toMatch(/HttpOnly/);
  expect(sessionCookie).toMatch(/SameSite=Lax/);
  expect(sessionCookie).not.toMatch(/Secure/); // http://127.0.0.1: no Secure; https public URLs get it
  expect(jar.jars.get(base)?.has('kw_login')).toBe(false);

  const viewer = (await gqlAsBrowser(jar, VIEWER)).data.viewer;
  expect(viewer).toMatchObject({ key: null, operator: { id: invited.id, email, name: 'Ana Example', role: 'ADMIN' }, account: { id: acct.accountId } });
  expect(viewer.operator.lastSignInAt).not.toBeNull();
  const audit = await h.db.prisma.auditEvent.findFirst({ where: { accountId: acct.accountId, action: 'operator.sign_in', actorOperatorId: invited.id } });
  expect(audit).not.toBeNull();
  expect((await gqlAsBrowser(jar, VIEWER, 'https://evil.example')).errors[0].extensions.code).toBe('FORBIDDEN');

  const out = await request(jar, `${base}/auth/logout`, { method: 'POST', headers: { origin: base } });
  expect(out.status).toBe(303);
  const after = await gqlAsBrowser(jar, VIEWER);
  expect(after.errors[0].extensions.code).toBe('UNAUTHENTICATED');
});

test('a person neither invited nor matched by the role map is refused with a page that says so; nothing is created', async () => {
  const email = emailOf('stranger');
  await provider.setPerson({ sub: subOf(), email, email_verified: true });
  const [operators, sessions] = [await h.db.prisma.operator.count(), await sessionsCount()];
  const { res } = await follow(newJar(), `${base}/auth/login`);
  expect(res!.status).toBe(403);
  expect(await res!.text()).toContain(`${email} has not been invited`);
  expect(await h.db.prisma.operator.count()).toBe(operators);
  expect(await sessionsCount()).toBe(sessions);
});

test('an unverified email is refused even when it was invited', async () => {
  const email = emailOf('unverified');
  ok(await h.gql(INVITE, { input: { email, role: 'AUDITOR' } }, acct.secret));
  await provider.setPerson({ sub: subOf(), email, email_verified: false });
  const sessions = await sessionsCount();
  const { res } = await follow(newJar(), `${base}/auth/login`);
  expect(res!.status).toBe(403);
  expect(await res!.text()).toContain('is not verified');
  expect(await sessionsCount()).toBe(sessions);
  expect((await h.db.prisma.operator.findFirstOrThrow({ where: { email } })).issuer).toBeNull();
});

describe('bad callbacks create nothing', () => {
  let email: string;
  beforeAll(async () => {
    email = emailOf('bad-callback');
    ok(await h.gql(INVITE, { input: { email, role: 'ADMIN' } }, acct.secret));
    await provider.setPerson({ sub: subOf(), email, email_verified: true });
  });

  test('a tampered state is refused, and the pending sign-in is gone afterwards', async () => {
    const jar = newJar();
    const callback = new URL(await toCallback(jar));
    const sessions = await sessionsCount();
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'not-the-state');
    const res = await request(jar, tampered.href);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/state/);
    const again = await request(jar, callback.href);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('no sign-in is pending');
    expect(await sessionsCount()).toBe(sessions);
  });

  test('a missing code is refused', async () => {
    const jar = newJar();
    const callback = new URL(await toCallback(jar));
    callback.searchParams.delete('code');
    const sessions = await sessionsCount();
    const res = await request(jar, callback.href);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/code/);
    expect(await sessionsCount()).toBe(sessions);
  });

  test('a replayed callback (same code) is refused after the first succeeded', async () => {
    const jar = newJar();
    const callback = await toCallback(jar);
    const binding = jar.jars.get(base)!.get('kw_login')!;
    const first = await request(jar, callback);
    expect(first.status).toBe(303);
    const sessions = await sessionsCount();
    jar.jars.get(base)!.set('kw_login', binding);
    const replay = await request(jar, callback);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('no sign-in is pending');
    expect(await sessionsCount()).toBe(sessions);
  });

  test('a callback from a browser that started no sign-in is refused', async () => {
    const callback = await toCallback(newJar());
    const res = await request(newJar(), callback);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('no sign-in is pending');
  });
});

test('the role claim provisions a person into OIDC_ACCOUNT and their role follows the claim at every sign-in', async () => {
  const email = emailOf('claimed');
  const sub = subOf();
  await provider.setPerson({ sub, email, email_verified: true, groups: ['kw-auditors', 'unrelated'] });
  const jar = newJar();
  await follow(jar, `${base}/auth/login`, isDashboard);
  expect((await gqlAsBrowser(jar, VIEWER)).data.viewer).toMatchObject({ operator: { email, role: 'AUDITOR' }, account: { id: claimAccount.accountId } });
  await provider.setPerson({ sub, email, email_verified: true, groups: ['kw-auditors', 'kw-owners'] });
  const jar2 = newJar();
  await follow(jar2, `${base}/auth/login`, isDashboard);
  expect((await gqlAsBrowser(jar2, VIEWER)).data.viewer.operator.role).toBe('OWNER');
  expect(await h.db.prisma.operator.count({ where: { email } })).toBe(1);
});

test('a disabled operator cannot sign in', async () => {
  const email = emailOf('disabled');
  const op = ok(await h.gql(INVITE, { input: { email, role: 'ADMIN' } }, acct.secret)).inviteOperator;
  await h.db.prisma.operator.update({ where: { id: op.id }, data: { disabled: true } });
  await provider.setPerson({ sub: subOf(), email, email_verified: true });
  const { res } = await follow(newJar(), `${base}/auth/login`);
  expect(res!.status).toBe(403);
  expect(await res!.text()).toContain('is disabled');
});

test('returnTo never leaves Keywarden', async () => {
  const email = emailOf('redirect');
  ok(await h.gql(INVITE, { input: { email, role: 'AUDITOR' } }, acct.secret));
  await provider.setPerson({ sub: subOf(), email, email_verified: true });
  const { url } = await follow(newJar(), `${base}/auth/login?returnTo=${encodeURIComponent('//evil.example/x')}`, isDashboard);
  expect(url).toBe(`${base}/dashboard/`);
});

test('no secret reaches the logs: client secret, session token, code, verifier', async () => {
  const jar = newJar();
  const email = emailOf('logs');
  ok(await h.gql(INVITE, { input: { email, role: 'AUDITOR' } }, acct.secret));
  await provider.setPerson({ sub: subOf(), email, email_verified: true });
  const callback = new URL(await toCallback(jar));
  const pending = await h.db.prisma.oidcLogin.findMany();
  await request(jar, callback.href);
  const token = jar.jars.get(base)!.get('kw_session')!;
  await gqlAsBrowser(jar, VIEWER);
  const logs = logLines.join('');
  expect(logs).toContain('operator signed in');
  for (const secret of [CLIENT_SECRET, token, decodeURIComponent(token), callback.searchParams.get('code')!, ...pending.map((p) => p.codeVerifier)]) {
    expect(logs).not.toContain(secret);
  }
});
