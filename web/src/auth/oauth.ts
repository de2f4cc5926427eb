// Login as the public client `webmail` (SPEC §6, §12): Authorization Code
// with PKCE S256 and a state, through oauth4webapi. Discovery: the mailbox's
// RFC 9728 metadata names the AS, whose RFC 8414 metadata gives endpoints.
// Only the PKCE verifier and the state touch sessionStorage, and only for
// the length of the redirect.
import * as oauth from 'oauth4webapi';
import type { FetchLike } from '../api/client';

export const CLIENT_ID = 'webmail';
export const SCOPE = 'internet_mail';
export const CALLBACK_PATH = 'oauth/callback';
const PENDING_KEY = 'fz.login';

export const client: oauth.Client = { client_id: CLIENT_ID, token_endpoint_auth_method: 'none' };
const clientAuth = oauth.None();

export interface HttpOptions {
  fetch?: FetchLike;
  /** Allows http:// endpoints (local development only). */
  insecure?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHttpOptions = oauth.HttpRequestOptions<any, any>;

function httpOptions(o: HttpOptions): AnyHttpOptions {
  const out: AnyHttpOptions = {};
  if (o.fetch) {
    const f = o.fetch;
    out[oauth.customFetch] = (url: string, init: oauth.CustomFetchOptions<string, unknown>) =>
      f(url, init as RequestInit);
  }
  // Development on http://localhost only (see boot.ts).
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  if (o.insecure) out[oauth.allowInsecureRequests] = true;
  return out;
}

export function redirectUri(mbxBase: URL): string {
  return new URL(CALLBACK_PATH, mbxBase).toString();
}

/** The RFC 9728 metadata URL of the resource `mbxBase`. */
export function protectedResourceMetadataUrl(mbxBase: URL): string {
  const path = mbxBase.pathname.replace(/\/$/, '');
  return `${mbxBase.origin}/.well-known/oauth-protected-resource${path}`;
}

/** Finds the AS of the mailbox and reads its metadata. */
export async function discover(mbxBase: URL, o: HttpOptions = {}): Promise<oauth.AuthorizationServer> {
  const f = o.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  const res = await f(protectedResourceMetadataUrl(mbxBase), { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`mailbox metadata: HTTP ${res.status}`);
  const meta = (await res.json()) as { authorization_servers?: unknown };
  const servers = meta.authorization_servers;
  if (!Array.isArray(servers) || typeof servers[0] !== 'string') {
    throw new Error('mailbox metadata names no authorization server');
  }
  const issuer = new URL(servers[0]);
  const dres = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...httpOptions(o) });
  return oauth.processDiscoveryResponse(issuer, dres);
}

interface Pending {
  verifier: string;
  state: string;
  redirectUri: string;
  issuer: string;
}

export interface KeyValueStorage {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

/** Makes the authorization request URL and remembers verifier and state. */
export async function startLogin(
  as: oauth.AuthorizationServer,
  redirect: string,
  storage: KeyValueStorage,
): Promise<URL> {
  if (!as.authorization_endpoint) throw new Error('the AS has no authorization endpoint');
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = oauth.generateRandomState();
  const pending: Pending = { verifier, state, redirectUri: redirect, issuer: as.issuer };
  storage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', CLIENT_ID);
  url.searchParams.set('redirect_uri', redirect);
  url.searchParams.set('scope', SCOPE);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url;
}

export function hasPendingLogin(storage: KeyValueStorage): boolean {
  return storage.getItem(PENDING_KEY) !== null;
}

/**
 * Finishes the login on the callback URL: checks state (and `iss` when the AS
 * sends it), exchanges the code with the verifier. The pending values are
 * removed first, whatever happens.
 */
export async function completeLogin(
  as: oauth.AuthorizationServer,
  callbackUrl: URL,
  storage: KeyValueStorage,
  o: HttpOptions = {},
): Promise<oauth.TokenEndpointResponse> {
  const raw = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  if (!raw) throw new Error('no login was started in this tab');
  const pending = JSON.parse(raw) as Pending;
  if (pending.issuer !== as.issuer) throw new Error('the login was started at another server');
  const params = oauth.validateAuthResponse(as, client, callbackUrl, pending.state);
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    clientAuth,
    params,
    pending.redirectUri,
    pending.verifier,
    httpOptions(o),
  );
  return oauth.processAuthorizationCodeResponse(as, client, res);
}

export async function refreshTokens(
  as: oauth.AuthorizationServer,
  refreshToken: string,
  o: HttpOptions = {},
): Promise<oauth.TokenEndpointResponse> {
  const res = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, httpOptions(o));
  return oauth.processRefreshTokenResponse(as, client, res);
}

export async function revokeToken(
  as: oauth.AuthorizationServer,
  token: string,
  o: HttpOptions = {},
): Promise<void> {
  const res = await oauth.revocationRequest(as, client, clientAuth, token, {
    ...httpOptions(o),
    additionalParameters: { token_type_hint: 'refresh_token' },
  });
  await oauth.processRevocationResponse(res);
}

/** True when the error means the grant is gone (log in again). */
export function isGrantError(e: unknown): boolean {
  return e instanceof oauth.ResponseBodyError && (e.error === 'invalid_grant' || e.error === 'invalid_client');
}
