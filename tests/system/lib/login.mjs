// Signing a user in the way a browser does, for tests that need a real
// access token: GET /authorize with PKCE (S256), the login form read
// from the HTML (every hidden input kept, so the CSRF token goes back),
// username and password posted, cookies carried, redirects followed
// until the client's redirect URI; then oauth4webapi redeems the code.
//
//   const { access_token } = await loginWithPkce(env, as, {
//     clientId: 'webmail', redirectUri, username: 'alice@example.com',
//     password: 'correct horse' });
import * as oauth from 'oauth4webapi';

const MAX_HOPS = 10;

// name=value of every Set-Cookie into jar (a Map).
function keepCookies(res, jar) {
  for (const c of res.headers.getSetCookie?.() ?? []) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

function cookieHeader(jar) {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// The first form of html: its action and its inputs' names and values.
function readForm(html, base) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const action = /action="([^"]*)"/i.exec(form[1])?.[1] ?? '';
  const fields = new URLSearchParams();
  for (const m of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = /name="([^"]*)"/i.exec(m[1])?.[1];
    const value = /value="([^"]*)"/i.exec(m[1])?.[1] ?? '';
    if (name) fields.set(unescape(name), unescape(value));
  }
  return { action: new URL(unescape(action), base).href, fields };
}

// Drives /authorize and /login; resolves to the token response.
export async function loginWithPkce(env, as, { clientId, redirectUri, username, password,
  scope = 'internet_mail', DPoP } = {}) {
  const issuer = new URL(as.issuer);
  const meta = await oauth.processDiscoveryResponse(issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.customFetch]: env.fetch }));
  const client = { client_id: clientId };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();

  const jar = new Map();
  let req = { url: url.href, method: 'GET', body: undefined };
  let posted = false;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const headers = { cookie: cookieHeader(jar) };
    if (req.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await env.fetch(req.url, { method: req.method, headers, body: req.body, redirect: 'manual' });
    keepCookies(res, jar);
    const location = res.headers.get('location');
    if (location) {
      await res.arrayBuffer();
      const next = new URL(location, req.url);
      if (next.href.startsWith(redirectUri)) {
        const params = oauth.validateAuthResponse(meta, client, next, state);
        const grant = await oauth.authorizationCodeGrantRequest(meta, client, oauth.None(),
          params, redirectUri, verifier, { DPoP, [oauth.customFetch]: env.fetch });
        return oauth.processAuthorizationCodeResponse(meta, client, grant);
      }
      req = { url: next.href, method: 'GET', body: undefined };
      continue;
    }
    const html = await res.text();
    const form = readForm(html, req.url);
    if (!form || posted && form.fields.has('password')) {
      throw new Error(`login stopped at ${req.url} (${res.status}): ${html.slice(0, 300)}`);
    }
    if (form.fields.has('password') || /name="password"/.test(html)) {
      form.fields.set('username', username);
      form.fields.set('password', password);
      posted = true;
    }
    req = { url: form.action, method: 'POST', body: form.fields.toString() };
  }
  throw new Error('login: too many hops');
}
