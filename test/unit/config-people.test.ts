import { ConfigError, loadConfig } from '../../src/config';

// README, People and single sign-on: the variables, their defaults, and the https rule for issuers.

function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

test('defaults: no SSO, key sign-in on, sessions 60 minutes idle / 12 hours, public URL from HOST and PORT', () => {
  expect(loadConfig({ PORT: '4100' }).people).toEqual({ publicUrl: 'http://127.0.0.1:4100', sessions: { idleMinutes: 60, maxHours: 12 }, oidc: null, dashboardKeySignin: true });
});

test('an OIDC provider: scopes, account and key sign-in default as documented; the role map is parsed', () => {
  const people = loadConfig({
    KEYWARDEN_PUBLIC_URL: 'https://keys.example.com/',
    OIDC_ISSUER: 'https://idp.example.com/realms/main',
    OIDC_CLIENT_ID: 'keywarden',
    OIDC_CLIENT_SECRET: 's3cret',
    OIDC_ROLE_CLAIM: 'groups',
    OIDC_ROLE_MAP: 'kw-owners=OWNER, kw-auditors=AUDITOR',
  }).people;
  expect(people.publicUrl).toBe('https://keys.example.com');
  expect(people.dashboardKeySignin).toBe(false);
  expect(people.oidc).toEqual({
    issuer: 'https://idp.example.com/realms/main',
    clientId: 'keywarden',
    clientSecret: 's3cret',
    scopes: 'openid email profile',
    roleClaim: 'groups',
    roleMap: { 'kw-owners': 'OWNER', 'kw-auditors': 'AUDITOR' },
    account: 'default',
  });
});

test('an issuer must be https, except on a loopback address', () => {
  expect(configError({ OIDC_ISSUER: 'http://idp.example.com', OIDC_CLIENT_ID: 'x' })).toMatch(/OIDC_ISSUER must be an https:\/\/ URL/);
  expect(loadConfig({ OIDC_ISSUER: 'http://127.0.0.1:9000', OIDC_CLIENT_ID: 'x' }).people.oidc?.issuer).toBe('http://127.0.0.1:9000');
  expect(loadConfig({ OIDC_ISSUER: 'http://localhost:9000', OIDC_CLIENT_ID: 'x' }).people.oidc).not.toBeNull();
});

test.each([
  [{ OIDC_ISSUER: 'https://idp.example.com' }, /OIDC_CLIENT_ID is required/],
  [{ OIDC_CLIENT_ID: 'x' }, /OIDC_ISSUER is required/],
  [{ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'x', OIDC_ROLE_CLAIM: 'groups' }, /OIDC_ROLE_CLAIM and OIDC_ROLE_MAP must be set together/],
  [{ OIDC_ROLE_MAP: 'admins=ROOT' }, /OIDC_ROLE_MAP must be/],
  [{ SESSION_IDLE_MINUTES: '0' }, /SESSION_IDLE_MINUTES must be a whole number/],
  [{ SESSION_MAX_HOURS: 'soon' }, /SESSION_MAX_HOURS must be a whole number/],
  [{ DASHBOARD_KEY_SIGNIN: 'maybe' }, /DASHBOARD_KEY_SIGNIN must be true or false/],
  [{ KEYWARDEN_PUBLIC_URL: 'ftp://x' }, /KEYWARDEN_PUBLIC_URL must be/],
])('a bad value names its variable: %j', (env, message) => {
  expect(configError(env)).toMatch(message);
});
