// A real OpenID Connect provider (the `oidc-provider` package) for the sign-in tests, run as a
// child process on a free 127.0.0.1 port (the package is ESM-only; the tests are CommonJS).
// Its login needs no browser and no devInteractions page: each interaction signs in the person
// last set with POST /_test/user, and consent is granted by loadExistingGrant (a first-party
// client). Prints {"issuer": "..."} on stdout once it listens.
//
// Arguments: client_id client_secret redirect_uri
import http from 'node:http';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectUri] = process.argv.slice(2);
let person = { sub: 'nobody', email: 'nobody@example.test', email_verified: true, name: 'Nobody', groups: [] };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['test-only-cookie-key'] },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const p = { ...person };
    if (p.sub !== sub) return undefined;
    return { accountId: sub, claims: () => p };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/_test/user' && ctx.method === 'POST') {
    let body = '';
    for await (const chunk of ctx.req) body += chunk;
    person = JSON.parse(body);
    ctx.status = 204;
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: person.sub } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return;
  }
  await next();
});

server.on('request', provider.callback());
process.stdout.write(JSON.stringify({ issuer }) + '\n');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
