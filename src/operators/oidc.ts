import crypto from 'node:crypto';
import * as oidc from 'openid-client';
import type { OidcConfig } from '../config';
import type { Database } from '../infra/db';
import { clock } from '../infra/clock';

// The OpenID Connect authorization code flow with PKCE, state and nonce, through `openid-client`:
// it discovers the provider, builds the authorization URL, exchanges the code and checks the ID
// token (signature from the provider's JWKS, issuer, audience, expiry, nonce). Nothing here
// validates a token by hand. Between login and callback the verifier, state and nonce wait in
// PostgreSQL (any instance may receive the callback), bound to the browser by a cookie whose
// digest is stored, and are used once.

export const LOGIN_COOKIE = 'kw_login';
const PENDING_LOGIN_MS = 10 * 60_000;

/** A sign-in refused: the message is shown to the person on a page. */
export class SignInError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SignInError';
  }
}

export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  email: string;
  name: string | null;
  claims: Record<string, unknown>;
}

function digest(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

export class OidcFlow {
  private discovered: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly settings: OidcConfig,
    private readonly redirectUri: string,
  ) {}

  /** Discovery, once (and again after a failure). http:// is allowed for a loopback issuer only (config.ts checks too). */
  private configuration(): Promise<oidc.Configuration> {
    if (!this.discovered) {
      const issuer = new URL(this.settings.issuer);
      const insecure = issuer.protocol === 'http:' && LOOPBACK.test(issuer.hostname);
      const auth = this.settings.clientSecret ? oidc.ClientSecretBasic(this.settings.clientSecret) : oidc.None();
      this.discovered = oidc.discovery(issuer, this.settings.clientId, undefined, auth, insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
      this.discovered.catch(() => {
        this.discovered = undefined;
      });
    }
    return this.discovered;
  }

  /** Starts a sign-in: the provider URL to send the browser to, and the value of the binding cookie. */
  async begin(db: Database, returnTo: string): Promise<{ url: string; binding: string }> {
    const config = await this.configuration().catch((err: Error) => {
      throw new SignInError(`the identity provider could not be reached (${err.message})`, 502);
    });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const binding = crypto.randomBytes(32).toString('base64url');
    const now = clock.now();
    await db.prisma.oidcLogin.deleteMany({ where: { expiresAt: { lt: now } } });
    await db.prisma.oidcLogin.create({ data: { bindingDigest: digest(binding), state, nonce, codeVerifier, returnTo, createdAt: now, expiresAt: new Date(now.getTime() + PENDING_LOGIN_MS) } });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, binding };
  }

  /**
   * Finishes a sign-in from the callback's query string: the pending login of this browser is
   * taken (once), the code exchanged and the ID token checked. Returns who signed in and where
   * they were going.
   */
  async finish(db: Database, binding: string | null, search: string): Promise<{ identity: VerifiedIdentity; returnTo: string }> {
    const pending = await takePendingLogin(db, binding);
    const config = await this.configuration();
    const callbackUrl = new URL(this.redirectUri);
    callbackUrl.search = search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
    } catch (err) {
      throw new SignInError(`the sign-in could not be completed: ${describeOidcError(err)}`);
    }
    const claims = tokens.claims();
    if (!claims) throw new SignInError('the identity provider sent no ID token');
    return { identity: identityOf(claims as unknown as Record<string, unknown>), returnTo: pending.returnTo };
  }
}

/** The pending login this browser started, removed so that a callback (or a replayed one) cannot use it twice. */
async function takePendingLogin(db: Database, binding: string | null) {
  const none = new SignInError('no sign-in is pending in this browser (it expired, was already used, or was started elsewhere); start again from the sign-in page');
  if (!binding) throw none;
  const row = await db.prisma.oidcLogin.findUnique({ where: { bindingDigest: digest(binding) } });
  if (!row) throw none;
  const { count } = await db.prisma.oidcLogin.deleteMany({ where: { id: row.id } });
  if (count === 0 || row.expiresAt.getTime() <= clock.nowMs()) throw none;
  return row;
}

/** What went wrong, in words for a page: never a token, a code or a secret. */
function describeOidcError(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError) return `the identity provider answered ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
  if (err instanceof oidc.ResponseBodyError) return `the identity provider refused the code: ${err.error}`;
  if (err instanceof Error) {
    // openid-client says "invalid response encountered" and keeps oauth4webapi's precise reason (which check failed) as the cause.
    const cause = err.cause instanceof Error ? err.cause.message : null;
    return cause ? `${err.message}: ${cause}` : err.message;
  }
  return 'unknown error';
}

function identityOf(claims: Record<string, unknown>): VerifiedIdentity {
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
  if (!email) throw new SignInError('the identity provider did not send an email address (ask for the "email" scope)', 403);
  if (claims.email_verified !== true) throw new SignInError(`the email address ${email} is not verified by the identity provider`, 403);
  return { issuer: String(claims.iss), subject: String(claims.sub), email, name: typeof claims.name === 'string' ? claims.name : null, claims };
}
