// The OAuth 2.0 Security BCP (RFC 9700) cases that apply to Federizer,
// against two real `federizer as` and two real `federizer mbx`: code
// injection, PKCE downgrade, open redirect through redirect_uri, CSRF
// with a foreign token on login and consent, token replay across
// audiences, mix-up of issuers. Cases as-login.test.mjs already proves
// (a replayed code, a wrong verifier, method plain or none, a missing or
// wrong CSRF token, a redirect_uri one character off) are not repeated.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

import { AsServer, makeTestEnv } from './lib/index.mjs';
import { Browser, scrapeForm } from './lib/browser.mjs';
import { MbxServer } from './lib/mbx.mjs';

const ALICE = 'alice@example.com';
const PW = 'correct horse battery';
const OTHER_REDIRECT = 'https://app.example.net/cb';

let env;
let as;    // the domain's AS
let evil;  // another AS, for mix-up
let mbx;   // the audience of the webmail's tokens
let mbx2;  // another MBX of the same AS
let ctx;   // { server, meta } per AS
let evilCtx;
let redirect;
const webmail = { client_id: 'webmail' };
const thirdParty = { client_id: 'thirdparty' };
const opts = (extra = {}) => ({ [oauth.customFetch]: env.fetch, ...extra });

async function discover(server) {
  const issuer = new URL(server.issuer);
  const meta = await oauth.processDiscoveryResponse(issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...opts() }));
  return { server, meta };
}

function setup(server, audience) {
  server.adminOk(['user', 'add', ALICE], { input: `${PW}\n` });
  server.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', redirect, '--audience', audience]);
  server.adminOk(['client', 'add', 'thirdparty', '--public',
    '--redirect-uri', OTHER_REDIRECT, '--audience', audience]);
}

before(async () => {
  env = await makeTestEnv('fz-attack-oauth-');
  as = await AsServer.create(env, { name: 'localhost' });
  evil = await AsServer.create(env, { name: 'as.example.net', domains: ['example.com'] });
  mbx = await MbxServer.create(env, as, { name: 'mbx.example.com', config: { queue: { workers: 0 } } });
  mbx2 = await MbxServer.create(env, as, { name: 'mbx2.example.com', mtaClientId: 'mta2.example.com',
    config: { queue: { workers: 0 } } });
  redirect = mbx.url('/oauth/callback');
  setup(as, mbx.baseUrl);
  setup(evil, mbx.baseUrl);
  as.adminOk(['client', 'add', 'webmail2', '--public', '--first-party',
    '--redirect-uri', mbx2.url('/oauth/callback'), '--audience', mbx2.baseUrl]);
  await Promise.all([as.start(), evil.start()]);
  await Promise.all([mbx.start(), mbx2.start()]);
  ctx = await discover(as);
  evilCtx = await discover(evil);
});

after(async () => {
  for (const server of env?.servers ?? []) {
    const exit = await server.stop();
    assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
    // no hostile input may end in a server error
    assert.doesNotMatch(server.log, /^\S+ \S+ [A-Z]+ \S+ 5\d\d /m, 'a 5xx answer in the access log');
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, server.log);
  }
  await env?.cleanup();
});

// An authorization request URL; overrides replace or (null) remove.
async function authorizeUrl(c, client, redirectUri, overrides = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(c.meta.authorization_endpoint);
  const params = {
    response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri,
    scope: 'internet_mail', state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  return { url, verifier, state };
}

// The login form, signed in through; returns the answer after the hop
// back to /authorize.
async function signIn(browser, url, c = ctx) {
  let res = await browser.get(url);
  assert.equal(res.status, 200, 'the login form');
  const form = scrapeForm(await res.text());
  res = await browser.post(form.action, { ...form.fields, username: ALICE, password: PW });
  assert.equal(res.status, 303, `login answered ${res.status}`);
  return browser.get(res.headers.get('location'));
}

// A code for the webmail at AS c: { params, verifier, state, callback }.
async function code(c = ctx, client = webmail, redirectUri = redirect) {
  const browser = new Browser(env.fetch);
  const { url, verifier, state } = await authorizeUrl(c, client, redirectUri);
  const res = await signIn(browser, url, c);
  assert.equal(res.status, 302);
  const callback = new URL(res.headers.get('location'));
  const params = oauth.validateAuthResponse(c.meta, client, callback, state);
  return { params, verifier, state, callback };
}

async function postToken(c, fields) {
  const res = await env.fetch(c.meta.token_endpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: await res.json() };
}

const redeemFields = (params, verifier, clientId = 'webmail', redirectUri = redirect) => ({
  grant_type: 'authorization_code', client_id: clientId, code: params.get('code'),
  redirect_uri: redirectUri, code_verifier: verifier,
});

// The error redirect for a request: its Location, checked to go to the
// registered redirect URI with iss and (when sent) state.
async function errorRedirect(url, state) {
  const res = await new Browser(env.fetch).get(url);
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get('location'));
  assert.equal(`${loc.origin}${loc.pathname}`, redirect);
  assert.equal(loc.searchParams.get('iss'), as.issuer);
  if (state) assert.equal(loc.searchParams.get('state'), state);
  assert.equal(loc.searchParams.get('code'), null);
  return loc;
}

describe('authorization code injection (RFC 9700 §4.5)', () => {
  test('the webmail\'s code redeemed by another client is invalid_grant', async () => {
    const { params, verifier } = await code();
    for (const [client, uri] of [['thirdparty', redirect], ['thirdparty', OTHER_REDIRECT], ['webmail2', redirect]]) {
      const r = await postToken(ctx, redeemFields(params, verifier, client, uri));
      assert.equal(r.status, 400, `${client} ${uri}`);
      assert.equal(r.body.error, 'invalid_grant', JSON.stringify(r.body));
      assert.equal(r.body.access_token, undefined);
    }
  });

  test('a stolen code injected into the victim\'s session (her own verifier) is invalid_grant', async () => {
    const attacker = await code();
    const victim = await authorizeUrl(ctx, webmail, redirect);
    const r = await postToken(ctx, redeemFields(attacker.params, victim.verifier));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(r.body.error_description, /code_verifier/);
  });

  test('a code redeemed without code_verifier is refused', async () => {
    const { params } = await code();
    const fields = redeemFields(params, '');
    delete fields.code_verifier;
    const r = await postToken(ctx, fields);
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^(invalid_request|invalid_grant)$/);
    assert.equal(r.body.access_token, undefined);
  });
});

describe('PKCE downgrade (RFC 9700 §4.8)', () => {
  test('a request without code_challenge is refused: no code exists to send a verifier for', async () => {
    const { url, state } = await authorizeUrl(ctx, webmail, redirect,
      { code_challenge: null, code_challenge_method: null });
    const loc = await errorRedirect(url, state);
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
    assert.match(loc.searchParams.get('error_description'), /code_challenge/);
  });

  test('code_challenge_method S256 without a challenge, a malformed or short challenge', async () => {
    for (const challenge of [null, 'short', `${'A'.repeat(42)}+`, 'A'.repeat(129), `${'A'.repeat(42)}=`]) {
      const { url, state } = await authorizeUrl(ctx, webmail, redirect, { code_challenge: challenge });
      const loc = await errorRedirect(url, state);
      assert.equal(loc.searchParams.get('error'), 'invalid_request', String(challenge));
    }
  });

  test('method s256 in lower case or with spaces is not S256', async () => {
    for (const m of ['s256', ' S256', 'S256 ', 'SHA256']) {
      const { url, state } = await authorizeUrl(ctx, webmail, redirect, { code_challenge_method: m });
      const loc = await errorRedirect(url, state);
      assert.equal(loc.searchParams.get('error'), 'invalid_request', m);
    }
  });
});

describe('open redirect through redirect_uri (RFC 9700 §4.1)', () => {
  test('prefix, suffix, userinfo, fragment, case, encoding and port variants: a page, never a redirect', async () => {
    const u = new URL(redirect);
    const host = u.host;
    const variants = [
      redirect.slice(0, -1), // prefix
      `${redirect}x`, `${redirect}/..`, `${redirect}/../../evil`, `${redirect}%2F..`, // suffix
      `${redirect}.evil.net`, `${redirect}?next=https://evil.net/`,
      `https://${host}@evil.net/oauth/callback`, `https://evil.net@${host}/oauth/callback`, // userinfo
      `https://user:pw@${host}/oauth/callback`,
      `${redirect}#frag`, `${redirect}#`, // fragment
      redirect.replace('https:', 'HTTPS:'), redirect.replace('mbx.example.com', 'MBX.example.com'), // case
      redirect.replace('/oauth/callback', '/OAUTH/callback'),
      redirect.replace('/oauth/callback', '/oauth%2Fcallback'), redirect.replace('callback', 'c%61llback'),
      redirect.replace('https:', 'http:'), redirect.replace(`:${u.port}`, ''), // scheme, port
      redirect.replace('mbx.example.com', 'mbx.example.com.evil.net'),
      redirect.replace('mbx.example.com', 'evil.net'), `//evil.net/oauth/callback`,
      `${redirect}\r\nLocation: https://evil.net/`, `${redirect}\u0000`, ` ${redirect}`,
      OTHER_REDIRECT, // another client's URI
    ];
    for (const uri of variants) {
      const { url } = await authorizeUrl(ctx, webmail, uri);
      const res = await new Browser(env.fetch).get(url);
      assert.equal(res.status, 400, JSON.stringify(uri));
      assert.equal(res.headers.get('location'), null, uri);
      const html = await res.text();
      if (/^application\/json/.test(res.headers.get('content-type'))) {
        // a query the HTTP layer refuses never reaches /authorize
        assert.equal(JSON.parse(html).error, 'invalid_request', uri);
        continue;
      }
      assert.match(res.headers.get('content-type'), /^text\/html/, uri);
      assert.match(html, /Authorization request refused/);
      assert.doesNotMatch(html, /href="[^"]*evil\.net/, 'no link to the attacker\'s URI');
    }
  });

  test('an error with a bad redirect_uri is a page too, even for a known error', async () => {
    const { url } = await authorizeUrl(ctx, webmail, 'https://evil.net/cb', { response_type: 'token' });
    const res = await new Browser(env.fetch).get(url);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    await res.arrayBuffer();
  });
});

describe('CSRF with a foreign token (RFC 9700 §4.7)', () => {
  async function loginForm(browser) {
    const { url } = await authorizeUrl(ctx, webmail, redirect);
    const res = await browser.get(url);
    assert.equal(res.status, 200);
    return scrapeForm(await res.text());
  }

  test('a login carrying another browser\'s valid CSRF token is 403', async () => {
    const victim = new Browser(env.fetch);
    const attacker = new Browser(env.fetch);
    const vForm = await loginForm(victim);
    const aForm = await loginForm(attacker);
    assert.notEqual(vForm.fields.csrf_token, aForm.fields.csrf_token);
    // the attacker's page makes the victim's browser post the attacker's token
    for (const fields of [{ ...vForm.fields, csrf_token: aForm.fields.csrf_token },
      { ...aForm.fields }]) {
      const res = await victim.post(vForm.action, { ...fields, username: ALICE, password: PW });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /expired or did not come from this server/);
    }
  });

  test('a consent carrying another session\'s valid CSRF token is 403, and no code is issued', async () => {
    async function consentPage() {
      const browser = new Browser(env.fetch);
      const { url } = await authorizeUrl(ctx, thirdParty, OTHER_REDIRECT);
      const res = await signIn(browser, url);
      assert.equal(res.status, 200);
      return { browser, form: scrapeForm(await res.text()) };
    }
    const victim = await consentPage();
    const attacker = await consentPage();
    assert.notEqual(victim.form.fields.csrf_token, attacker.form.fields.csrf_token);
    for (const fields of [{ ...victim.form.fields, csrf_token: attacker.form.fields.csrf_token },
      { ...attacker.form.fields }]) {
      const res = await victim.browser.post(victim.form.action, { ...fields, consent: 'allow' });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /stale or did not come from this server/);
    }
  });

  test('a login posted cross-site without the session cookie gets no session', async () => {
    const form = await loginForm(new Browser(env.fetch));
    const stranger = new Browser(env.fetch);
    const res = await stranger.post(form.action, { ...form.fields, username: ALICE, password: PW });
    assert.equal(res.status, 403);
    assert.equal(res.headers.getSetCookie().some((c) => /fz_session=[^;]+;.*Max-Age=[1-9]/.test(c)
      && /authenticated/.test(c)), false);
    await res.arrayBuffer();
  });
});

describe('token replay across audiences (RFC 9700 §4.10)', () => {
  let token;

  before(async () => {
    const { params, verifier } = await code();
    const r = await postToken(ctx, redeemFields(params, verifier));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    token = r.body.access_token;
    const ok = await env.fetch(mbx.url('/api/v1/sync'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, 'the token works where it belongs');
    await ok.arrayBuffer();
  });

  test('an MBX\'s token at another MBX of the same AS is 401 invalid_token', async () => {
    const r = await env.fetch(mbx2.url('/api/v1/sync'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /^Bearer .*error="invalid_token"/);
    assert.match((await r.json()).error, /^invalid_token$/);
  });

  test('the webmail\'s token at the MTA side (a fetch, with a good proof) is 401', async () => {
    // a proof that is right in every way but the token's
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
    const jwk = await jose.exportJWK(publicKey);
    const ath = createHash('sha256').update(token).digest('base64url');
    for (const m of [mbx, mbx2]) {
      const htu = m.url(`/mta/v1/resources/${'A'.repeat(43)}`);
      const proof = await new jose.SignJWT({ htm: 'POST', htu, jti: crypto.randomUUID(), ath })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().sign(privateKey);
      const r = await env.fetch(htu, {
        method: 'POST', headers: { authorization: `DPoP ${token}`, dpop: proof, 'content-type': 'application/json' },
        body: '{"envelope":[]}',
      });
      const body = await r.json();
      assert.equal(r.status, 401, `${m.baseUrl} ${JSON.stringify(body)}`);
      // no cnf.jkt binds it to the proof's key: refused whichever it checks first
      assert.match(r.headers.get('www-authenticate'), /^DPoP .*error="(invalid_token|invalid_dpop_proof)"/);
      assert.match(body.error, /^(invalid_token|invalid_dpop_proof)$/);
    }
  });

  test('at the AS: not a refresh token, not an authorization code', async () => {
    let r = await postToken(ctx, { grant_type: 'refresh_token', client_id: 'webmail', refresh_token: token });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    r = await postToken(ctx, { grant_type: 'authorization_code', client_id: 'webmail', code: token,
      redirect_uri: redirect, code_verifier: oauth.generateRandomCodeVerifier() });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });

  test('a token of another AS (same client, same audience) is 401 at the MBX', async () => {
    const { params, verifier } = await code(evilCtx);
    const r = await postToken(evilCtx, redeemFields(params, verifier));
    assert.equal(r.status, 200);
    const res = await env.fetch(mbx.url('/api/v1/sync'), { headers: { authorization: `Bearer ${r.body.access_token}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
    await res.arrayBuffer();
  });
});

describe('mix-up of issuers (RFC 9700 §4.4, RFC 9207)', () => {
  test('every authorization response names its issuer, and each AS a different one', async () => {
    const a = await code(ctx);
    const b = await code(evilCtx);
    assert.equal(a.callback.searchParams.get('iss'), as.issuer);
    assert.equal(b.callback.searchParams.get('iss'), evil.issuer);
    assert.notEqual(as.issuer, evil.issuer);
    assert.equal(ctx.meta.authorization_response_iss_parameter_supported, true);
  });

  test('a response of the other AS fails the client\'s iss check', async () => {
    const b = await code(evilCtx);
    assert.throws(() => oauth.validateAuthResponse(ctx.meta, webmail, b.callback, b.state),
      (e) => /iss/.test(`${e.message} ${e.cause?.message ?? ''} ${e.code}`));
  });

  test('a code of one AS redeemed at the other is invalid_grant', async () => {
    const b = await code(evilCtx);
    const r = await postToken(ctx, redeemFields(b.params, b.verifier));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    const a = await code(ctx);
    const r2 = await postToken(evilCtx, redeemFields(a.params, a.verifier));
    assert.equal(r2.status, 400);
    assert.equal(r2.body.error, 'invalid_grant');
  });
});
