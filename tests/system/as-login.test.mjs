// The webmail's login at a real `federizer as` (SPEC §6): Authorization
// Code + PKCE (S256) through the HTML login form, tokens with and without
// DPoP, refresh rotation, revocation — driven by oauth4webapi and a
// scripted browser, every JWT checked with jose against /jwks — and the
// attacks, each with the exact answer it must get.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

import { AsServer, makeTestEnv } from './lib/index.mjs';
import { Browser, scrapeForm } from './lib/browser.mjs';

const MBX = 'https://mbx.example.com';
const REDIRECT = `${MBX}/oauth/callback`;
const OTHER_REDIRECT = 'https://app.example.net/cb';
const ALICE = 'alice@example.com';
const ALICE_PW = 'correct horse battery';
const BOB = 'bob@example.com';
const BOB_PW = 'bob password 1';
const MAX_FAILURES = 3;

let env;
let as;      // the AS most tests use
let meta;    // its RFC 8414 metadata, as oauth4webapi read it
let jwks;    // its keys, for jose
let main;    // { server, meta, jwks } of `as`: what the helpers take
const webmail = { client_id: 'webmail' };
const thirdParty = { client_id: 'thirdparty' };

const opts = (extra = {}) => ({ [oauth.customFetch]: env.fetch, ...extra });

async function discover(server) {
  const issuer = new URL(server.issuer);
  const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...opts() });
  return oauth.processDiscoveryResponse(issuer, res);
}

function addUsersAndClients(server) {
  server.adminOk(['user', 'add', ALICE], { input: `${ALICE_PW}\n` });
  server.adminOk(['user', 'add', BOB], { input: `${BOB_PW}\n` });
  server.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', REDIRECT, '--audience', `${MBX}/`]);
  server.adminOk(['client', 'add', 'thirdparty', '--public',
    '--redirect-uri', OTHER_REDIRECT, '--audience', `${MBX}/`]);
}

before(async () => {
  env = await makeTestEnv('fz-as-login-');
  as = await AsServer.create(env, {
    name: 'as.example.com',
    // The per-address throttle has its own server below: every test
    // here comes from 127.0.0.1.
    config: { login: { max_failures: MAX_FAILURES, max_address_failures: 1000 } },
  });
  addUsersAndClients(as);
  await as.start();
  main = await context(as);
  ({ meta, jwks } = main);
});

// What the helpers need to know of one AS.
async function context(server) {
  const m = await discover(server);
  const res = await env.fetch(m.jwks_uri);
  return { server, meta: m, jwks: jose.createLocalJWKSet(await res.json()) };
}

// Every AS must stop cleanly on SIGTERM; under ASan (FZ_BIN pointing at
// an -Db_sanitize build) a leak or a runtime error shows here.
after(async () => {
  for (const server of env?.servers ?? []) {
    const exit = await server.stop();
    assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
    assert.deepEqual(exit, { code: 0, signal: null }, server.log);
  }
  await env?.cleanup();
});

// An authorization request URL, with parameters overridden or removed
// (value null).
async function authorizeUrl(ctx, client, redirectUri, overrides = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(ctx.meta.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: 'internet_mail',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  return { url, verifier, state };
}

// Signs in through the form: the /authorize page shows it, the POST
// goes back to /authorize. Returns the response after that hop.
async function signIn(browser, url, username, password, ctx = main) {
  let res = await browser.get(url);
  assert.equal(res.status, 200, 'the login form');
  const form = scrapeForm(await res.text());
  assert.equal(form.action, ctx.server.url('/login'));
  assert.ok(form.fields.csrf_token, 'a CSRF token');
  assert.ok(form.fields.authz, 'the pending request');
  res = await browser.post(form.action, { ...form.fields, username, password });
  assert.equal(res.status, 303, `login answered ${res.status}: ${await res.clone().text()}`);
  const back = res.headers.get('location');
  assert.ok(back.startsWith(`${ctx.meta.authorization_endpoint}?`), back);
  return browser.get(back);
}

// The whole front channel for the webmail: a callback URL with the code.
async function authorize({ dpopJkt, ctx = main } = {}) {
  const browser = new Browser(env.fetch);
  const extra = dpopJkt ? { dpop_jkt: dpopJkt } : {};
  const { url, verifier, state } = await authorizeUrl(ctx, webmail, REDIRECT, extra);
  const res = await signIn(browser, url, ALICE, ALICE_PW, ctx);
  assert.equal(res.status, 302);
  const callback = new URL(res.headers.get('location'));
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
  const params = oauth.validateAuthResponse(ctx.meta, webmail, callback, state);
  return { browser, params, verifier, state, callback };
}

async function tokenError(promise) {
  const e = await promise.then(() => null, (err) => err);
  assert.ok(e instanceof oauth.ResponseBodyError, `expected an OAuth error, got ${e}`);
  return e;
}

async function newKey() {
  const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
  const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
  return { keyPair, jwk, jkt: await jose.calculateJwkThumbprint(jwk, 'sha256') };
}

async function verifyAccessToken(token, jkt, ctx = main) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, ctx.jwks, {
    issuer: ctx.server.issuer, audience: `${MBX}/`, typ: 'at+jwt',
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.ok(protectedHeader.kid);
  assert.equal(payload.sub, ALICE);
  assert.equal(payload.email, ALICE);
  assert.equal(payload.scope, 'internet_mail');
  assert.equal(payload.client_id, 'webmail');
  assert.ok(payload.jti);
  assert.ok(payload.exp - payload.iat <= 900, 'at most 15 minutes');
  if (jkt) assert.equal(payload.cnf?.jkt, jkt);
  else assert.equal(payload.cnf, undefined);
  return payload;
}

function redeem(params, verifier, DPoP, ctx = main) {
  return oauth.authorizationCodeGrantRequest(ctx.meta, webmail, oauth.None(), params, REDIRECT,
    verifier, opts(DPoP ? { DPoP } : {}));
}

async function refresh(refreshToken, DPoP) {
  const res = await oauth.refreshTokenGrantRequest(meta, webmail, oauth.None(), refreshToken,
    opts(DPoP ? { DPoP } : {}));
  return oauth.processRefreshTokenResponse(meta, webmail, res);
}

// A DPoP proof made by hand, to vary what oauth4webapi would get right.
async function proof(key, { htu = meta.token_endpoint, htm = 'POST', jti, nonce } = {}) {
  return new jose.SignJWT({ htm, htu, jti: jti ?? crypto.randomUUID(), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .setIssuedAt()
    .sign(key.keyPair.privateKey);
}

async function postToken(fields, headers = {}, ctx = main) {
  const res = await env.fetch(ctx.meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { res, body: await res.json() };
}

describe('the Authorization Code + PKCE flow', () => {
  test('bearer: code, tokens, refresh rotation, reuse revokes the family', async () => {
    const { params, verifier, callback } = await authorize();
    assert.equal(callback.searchParams.get('iss'), as.issuer, 'RFC 9207 iss');
    const res = await redeem(params, verifier);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const tokens = await oauth.processAuthorizationCodeResponse(meta, webmail, res);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'internet_mail');
    assert.ok(tokens.expires_in > 0 && tokens.expires_in <= 900);
    assert.ok(tokens.refresh_token);
    await verifyAccessToken(tokens.access_token, null);

    const next = await refresh(tokens.refresh_token);
    assert.notEqual(next.refresh_token, tokens.refresh_token, 'rotated');
    await verifyAccessToken(next.access_token, null);

    // The old one again: refused, and the family - the new one too - is gone.
    let e = await tokenError(refresh(tokens.refresh_token));
    assert.equal(e.error, 'invalid_grant');
    assert.equal(e.status, 400);
    e = await tokenError(refresh(next.refresh_token));
    assert.equal(e.error, 'invalid_grant');
  });

  test('DPoP: token_type DPoP, cnf.jkt, refresh bound to the key', async () => {
    const key = await newKey();
    const DPoP = oauth.DPoP(webmail, key.keyPair);
    const { params, verifier } = await authorize();
    const res = await redeem(params, verifier, DPoP);
    const tokens = await oauth.processAuthorizationCodeResponse(meta, webmail, res);
    assert.equal(tokens.token_type, 'dpop');
    await verifyAccessToken(tokens.access_token, key.jkt);

    // Another key cannot use the bound refresh token, nor can no key.
    const other = await newKey();
    let e = await tokenError(refresh(tokens.refresh_token, oauth.DPoP(webmail, other.keyPair)));
    assert.equal(e.error, 'invalid_grant');
    e = await tokenError(refresh(tokens.refresh_token));
    assert.equal(e.error, 'invalid_grant');
    // Those refusals did not spend it: the right key still refreshes.
    const next = await refresh(tokens.refresh_token, DPoP);
    assert.equal(next.token_type, 'dpop');
    await verifyAccessToken(next.access_token, key.jkt);
  });

  test('dpop_jkt at /authorize binds the code to that key (RFC 9449 §10)', async () => {
    const key = await newKey();
    const other = await newKey();
    let { params, verifier } = await authorize({ dpopJkt: key.jkt });
    const e = await tokenError(oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, verifier, oauth.DPoP(webmail, other.keyPair))));
    assert.equal(e.error, 'invalid_grant');
    ({ params, verifier } = await authorize({ dpopJkt: key.jkt }));
    const tokens = await oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, verifier, oauth.DPoP(webmail, key.keyPair)));
    await verifyAccessToken(tokens.access_token, key.jkt);
  });

  test('a signed-in browser gets a code at once; missing scope means internet_mail', async () => {
    const { browser } = await authorize();
    const { url, state } = await authorizeUrl(main, webmail, REDIRECT, { scope: null });
    const res = await browser.get(url);
    assert.equal(res.status, 302);
    const params = oauth.validateAuthResponse(meta, webmail, new URL(res.headers.get('location')), state);
    assert.ok(params.get('code'));
  });

  test('revocation: a refresh token and its family; unknown tokens; access tokens', async () => {
    const { params, verifier } = await authorize();
    const tokens = await oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, verifier));
    const next = await refresh(tokens.refresh_token);
    let res = await oauth.revocationRequest(meta, webmail, oauth.None(), next.refresh_token,
      opts({ additionalParameters: { token_type_hint: 'refresh_token' } }));
    await oauth.processRevocationResponse(res);
    const e = await tokenError(refresh(next.refresh_token));
    assert.equal(e.error, 'invalid_grant');

    res = await oauth.revocationRequest(meta, webmail, oauth.None(), 'no-such-token', opts());
    await oauth.processRevocationResponse(res);

    res = await oauth.revocationRequest(meta, webmail, oauth.None(), next.access_token, opts());
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'unsupported_token_type');
  });
});

describe('consent for a client not marked first-party', () => {
  async function consentPage() {
    const browser = new Browser(env.fetch);
    const { url, state } = await authorizeUrl(main, thirdParty, OTHER_REDIRECT);
    const res = await signIn(browser, url, ALICE, ALICE_PW);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /thirdparty/);
    return { browser, form: scrapeForm(html), state };
  }

  test('allow gives a code, deny gives access_denied', async () => {
    let { browser, form, state } = await consentPage();
    assert.equal(form.action, meta.authorization_endpoint);
    assert.deepEqual(form.buttons.map((b) => b.value), ['allow', 'deny']);
    let res = await browser.post(form.action, { ...form.fields, consent: 'allow' });
    assert.equal(res.status, 303);
    let params = oauth.validateAuthResponse(meta, thirdParty, new URL(res.headers.get('location')), state);
    assert.ok(params.get('code'));

    ({ browser, form, state } = await consentPage());
    res = await browser.post(form.action, { ...form.fields, consent: 'deny' });
    assert.equal(res.status, 303);
    const loc = new URL(res.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'access_denied');
    assert.equal(loc.searchParams.get('state'), state);
    assert.equal(loc.searchParams.get('iss'), as.issuer);
  });

  test('a consent without the CSRF token, or with a wrong one, is refused', async () => {
    const { browser, form } = await consentPage();
    const { csrf_token: token, ...rest } = form.fields;
    for (const fields of [{ ...rest }, { ...rest, csrf_token: `${token.slice(1)}x` }]) {
      const res = await browser.post(form.action, { ...fields, consent: 'allow' });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /stale or did not come from this server/);
    }
    // Another browser (no session) posting the whole form gets a login form.
    const res = await new Browser(env.fetch).post(form.action, { ...form.fields, consent: 'allow' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /name="password"/);
  });
});

describe('attacks on the code', () => {
  test('a replayed code is invalid_grant and revokes what it issued', async () => {
    const { params, verifier } = await authorize();
    const tokens = await oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, verifier));
    const e = await tokenError(oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, verifier)));
    assert.equal(e.error, 'invalid_grant');
    assert.equal(e.status, 400);
    const r = await tokenError(refresh(tokens.refresh_token));
    assert.equal(r.error, 'invalid_grant');
  });

  test('a PKCE verifier that does not match is invalid_grant', async () => {
    const { params } = await authorize();
    const e = await tokenError(oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, oauth.generateRandomCodeVerifier())));
    assert.equal(e.error, 'invalid_grant');
    assert.match(e.error_description, /code_verifier/);
  });

  test('a redirect_uri at /token other than at /authorize is invalid_grant', async () => {
    const { params, verifier } = await authorize();
    const { body } = await postToken({
      grant_type: 'authorization_code', client_id: 'webmail', code: params.get('code'),
      redirect_uri: `${REDIRECT}x`, code_verifier: verifier,
    });
    assert.equal(body.error, 'invalid_grant');
  });

  test('code_challenge_method plain, or none, is an invalid_request redirect', async () => {
    for (const method of ['plain', null]) {
      const { url, state } = await authorizeUrl(main, webmail, REDIRECT, { code_challenge_method: method });
      const res = await new Browser(env.fetch).get(url);
      assert.equal(res.status, 302);
      const loc = new URL(res.headers.get('location'));
      assert.equal(`${loc.origin}${loc.pathname}`, REDIRECT);
      assert.equal(loc.searchParams.get('error'), 'invalid_request');
      assert.match(loc.searchParams.get('error_description'), /S256/);
      assert.equal(loc.searchParams.get('state'), state);
      assert.equal(loc.searchParams.get('iss'), as.issuer);
      assert.throws(() => oauth.validateAuthResponse(meta, webmail, loc, state),
        (err) => err instanceof oauth.AuthorizationResponseError && err.error === 'invalid_request');
    }
  });

  test('a missing state is an invalid_request redirect without state', async () => {
    const { url } = await authorizeUrl(main, webmail, REDIRECT, { state: null });
    const res = await new Browser(env.fetch).get(url);
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
    assert.match(loc.searchParams.get('error_description'), /state/);
    assert.equal(loc.searchParams.has('state'), false);
  });

  test('a redirect_uri one character off, or an unknown client, is a page, never a redirect', async () => {
    const cases = [
      [webmail, `${REDIRECT}/`], [webmail, REDIRECT.replace('callback', 'callbacK')],
      [webmail, `${REDIRECT}?x=1`], [webmail, null], [{ client_id: 'nobody' }, REDIRECT],
    ];
    for (const [client, uri] of cases) {
      const { url } = await authorizeUrl(main, client, uri);
      const res = await new Browser(env.fetch).get(url);
      assert.equal(res.status, 400, `${client.client_id} ${uri}`);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.headers.get('content-type'), /^text\/html/);
      assert.match(await res.text(), /Authorization request refused/);
    }
  });

  test('response_type other than code, and a scope we do not have', async () => {
    let { url, state } = await authorizeUrl(main, webmail, REDIRECT, { response_type: 'token' });
    let loc = new URL((await new Browser(env.fetch).get(url)).headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(loc.searchParams.get('state'), state);
    ({ url } = await authorizeUrl(main, webmail, REDIRECT, { scope: 'internet_mail admin' }));
    loc = new URL((await new Browser(env.fetch).get(url)).headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'invalid_scope');
  });
});

describe('attacks on the login form', () => {
  async function loginForm(browser) {
    const { url } = await authorizeUrl(main, webmail, REDIRECT);
    const fresh = browser.cookieHeader(url) === undefined;
    const res = await browser.get(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    // A new browser gets its session cookie; a known one keeps it.
    const cookie = res.headers.getSetCookie().join('\n');
    if (fresh) {
      assert.match(cookie, /^__Host-fz_session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    } else {
      assert.equal(cookie, '');
    }
    return scrapeForm(await res.text());
  }

  test('a login without the CSRF token, with a wrong one, or from another browser: 403', async () => {
    const browser = new Browser(env.fetch);
    const form = await loginForm(browser);
    const { csrf_token: token, ...rest } = form.fields;
    const tries = [
      [browser, { ...rest }],
      [browser, { ...rest, csrf_token: token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }],
      [new Browser(env.fetch), form.fields],
    ];
    for (const [b, fields] of tries) {
      const res = await b.post(form.action, { ...fields, username: ALICE, password: ALICE_PW });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /expired or did not come from this server/);
    }
  });

  test('a wrong password is throttled after login.max_failures, unknown users alike', async () => {
    const answers = {};
    for (const [user, correct] of [[BOB, BOB_PW], ['nobody@example.com', 'whatever pw']]) {
      const browser = new Browser(env.fetch);
      const seen = [];
      for (let i = 0; i < MAX_FAILURES; i++) {
        const form = await loginForm(browser);
        const res = await browser.post(form.action, { ...form.fields, username: user, password: 'wrong password' });
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.match(html, /Wrong email address or password\./);
        seen.push(html.replace(/value="[^"]*"/g, ''));
      }
      // Locked now: even the right password is refused, with Retry-After.
      const form = await loginForm(browser);
      const res = await browser.post(form.action, { ...form.fields, username: user, password: correct });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      const html = await res.text();
      assert.match(html, /Too many failed sign-ins/);
      assert.equal(res.headers.get('location'), null);
      answers[user] = [...seen, html.replace(/value="[^"]*"/g, '')];
    }
    // The pages for a real and an unknown account are the same.
    assert.deepEqual(answers[BOB], answers['nobody@example.com']);
  });

  test('HTML in the username is escaped when the form comes back', async () => {
    const browser = new Browser(env.fetch);
    const form = await loginForm(browser);
    const evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>@example.com';
    const res = await browser.post(form.action, { ...form.fields, username: evil, password: 'nope nope' });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(!html.includes('<script>'), 'no script element');
    assert.ok(!html.includes('<img'), 'no img element');
    assert.ok(html.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.equal(scrapeForm(html).fields.username, evil, 'the text itself survives');
  });

  test('GET /login alone shows the form; signing in there shows who you are', async () => {
    const browser = new Browser(env.fetch);
    let res = await browser.get(as.url('/login'));
    assert.equal(res.status, 200);
    const form = scrapeForm(await res.text());
    assert.equal(form.fields.authz, undefined);
    res = await browser.post(form.action, { ...form.fields, username: ALICE, password: ALICE_PW });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /signed in as <strong>alice@example\.com<\/strong>/);
  });
});

describe('attacks on DPoP at the token endpoint', () => {
  async function boundTokens(key) {
    const { params, verifier } = await authorize();
    return oauth.processAuthorizationCodeResponse(meta, webmail,
      await redeem(params, verifier, oauth.DPoP(webmail, key.keyPair)));
  }

  test('a replayed proof is invalid_dpop_proof', async () => {
    const key = await newKey();
    const tokens = await boundTokens(key);
    const p = await proof(key);
    const first = await postToken({ grant_type: 'refresh_token', client_id: 'webmail',
      refresh_token: tokens.refresh_token }, { dpop: p });
    assert.equal(first.res.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.token_type, 'DPoP');
    const again = await postToken({ grant_type: 'refresh_token', client_id: 'webmail',
      refresh_token: first.body.refresh_token }, { dpop: p });
    assert.equal(again.res.status, 400);
    assert.equal(again.body.error, 'invalid_dpop_proof');
    assert.match(again.body.error_description, /jti/);
  });

  test('a proof for another URL or method is invalid_dpop_proof', async () => {
    const key = await newKey();
    const tokens = await boundTokens(key);
    for (const p of [await proof(key, { htu: as.url('/revoke') }),
      await proof(key, { htu: meta.token_endpoint.replace('as.example.com', 'as.example.net') }),
      await proof(key, { htm: 'GET' })]) {
      const r = await postToken({ grant_type: 'refresh_token', client_id: 'webmail',
        refresh_token: tokens.refresh_token }, { dpop: p });
      assert.equal(r.res.status, 400);
      assert.equal(r.body.error, 'invalid_dpop_proof');
    }
  });

  test('two DPoP headers are invalid_dpop_proof', async () => {
    const key = await newKey();
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
    headers.append('dpop', await proof(key));
    headers.append('dpop', await proof(key));
    const res = await env.fetch(meta.token_endpoint, { method: 'POST', headers,
      body: 'grant_type=refresh_token&client_id=webmail&refresh_token=x' });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_dpop_proof');
  });
});

describe('the per-address throttle', () => {
  let ctx;

  before(async () => {
    const server = await AsServer.create(env, {
      name: 'as2.example.com',
      config: { login: { max_failures: 100, max_address_failures: 2 } },
    });
    addUsersAndClients(server);
    await server.start();
    ctx = await context(server);
  });

  test('failures on many accounts from one address lock that address', async () => {
    const browser = new Browser(env.fetch);
    const attempt = async (username, password) => {
      const res = await browser.get(ctx.server.url('/login'));
      const form = scrapeForm(await res.text());
      return browser.post(form.action, { ...form.fields, username, password });
    };
    assert.equal((await attempt('a@example.com', 'wrong pass')).status, 200);
    assert.equal((await attempt('b@example.com', 'wrong pass')).status, 200);
    const res = await attempt(ALICE, ALICE_PW);
    assert.equal(res.status, 429);
    assert.match(await res.text(), /Too many failed sign-ins/);
  });
});

describe('DPoP-Nonce (dpop.nonce: true)', () => {
  let ctx;

  before(async () => {
    const server = await AsServer.create(env, {
      name: 'as3.example.com', config: { dpop: { nonce: true } },
    });
    addUsersAndClients(server);
    await server.start();
    ctx = await context(server);
  });

  test('a proof without the nonce gets use_dpop_nonce and one; with it, tokens', async () => {
    const key = await newKey();
    const DPoP = oauth.DPoP(webmail, key.keyPair);
    const { params, verifier } = await authorize({ ctx });
    // The first try has no nonce: refused before the code is spent.
    const e = await tokenError(oauth.processAuthorizationCodeResponse(ctx.meta, webmail,
      await redeem(params, verifier, DPoP, ctx)));
    assert.equal(e.error, 'use_dpop_nonce');
    assert.equal(e.status, 400);
    assert.ok(oauth.isDPoPNonceError(e));
    // oauth4webapi kept the DPoP-Nonce it was given; the retry passes.
    const tokens = await oauth.processAuthorizationCodeResponse(ctx.meta, webmail,
      await redeem(params, verifier, DPoP, ctx));
    await verifyAccessToken(tokens.access_token, key.jkt, ctx);
  });

  test('a nonce we never gave out is use_dpop_nonce, with the current one', async () => {
    const key = await newKey();
    const fields = { grant_type: 'refresh_token', client_id: 'webmail', refresh_token: 'x' };
    const htu = ctx.meta.token_endpoint;
    let r = await postToken(fields, { dpop: await proof(key, { htu, nonce: 'made-up' }) }, ctx);
    assert.equal(r.res.status, 400);
    assert.equal(r.body.error, 'use_dpop_nonce');
    const nonce = r.res.headers.get('dpop-nonce');
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    // With the nonce handed out the proof passes; the token is what fails.
    r = await postToken(fields, { dpop: await proof(key, { htu, nonce }) }, ctx);
    assert.equal(r.body.error, 'invalid_grant');
    assert.equal(r.res.headers.get('dpop-nonce'), nonce, 'still the current one');
  });
});
