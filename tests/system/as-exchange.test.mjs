// RFC 8693 token exchange (SPEC §7.2-7.3, §8.1-8.2, §9) against real
// `federizer as` processes for example.com and example.net, found by each
// other through a real dnsmasq, driven by oauth4webapi (private_key_jwt,
// DPoP) and every issued JWT checked with jose against the issuer's /jwks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

import { AsServer, freePort, makeTestEnv } from './lib/index.mjs';
import { startDnsmasq } from './lib/dns.mjs';
import { loginWithPkce } from './lib/login.mjs';
import {
  TT_ACCESS, TT_JWT, asMetadata, digestHeader, eht, exchange, exchangeError, makeMta,
} from './lib/mta.mjs';

const MBX_COM = 'https://mbx.example.com/';
const MBX_NET = 'https://mbx.example.net/';
const PASSWORD = 'correct horse';
const MID = '<b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@example.com>';

let env, dns, asCom, asNet, asOrg;
let mtaCom, mtaOther, mtaNet, mtaOrg;

function portOf(as) {
  return Number(new URL(as.issuer).port);
}

before(async () => {
  env = await makeTestEnv('fz-as-exchange-');
  const dnsPort = await freePort();
  const dns_server = `127.0.0.1:${dnsPort}`;
  asCom = await AsServer.create(env, { name: 'as.example.com', domains: ['example.com'],
    config: { dns_server } });
  asNet = await AsServer.create(env, { name: 'as.example.net', domains: ['example.net'],
    config: { dns_server } });
  // Short-lived access tokens, no leeway: for the expired-token case.
  asOrg = await AsServer.create(env, { name: 'as.example.org', domains: ['example.org'],
    config: { dns_server, tokens: { access_ttl: 1 }, jose: { leeway: 0 } } });
  dns = await startDnsmasq({
    port: dnsPort,
    srv: [
      ['_federizer._as._tcp.example.com', 'as.example.com', portOf(asCom)],
      ['_federizer._as._tcp.example.net', 'as.example.net', portOf(asNet)],
      ['_federizer._as._tcp.example.org', 'as.example.org', portOf(asOrg)],
    ],
    hosts: ['as.example.com', 'as.example.net', 'as.example.org'],
  });

  asCom.adminOk(['user', 'add', 'alice@example.com'], { input: `${PASSWORD}\n` });
  asCom.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', `${MBX_COM}oauth/callback`, '--audience', MBX_COM]);
  mtaCom = await makeMta(asCom, 'mta.example.com', MBX_COM);
  mtaOther = await makeMta(asCom, 'mta2.example.com', 'https://mbx2.example.com/', { alg: 'RS256' });

  asNet.adminOk(['user', 'add', 'bob@example.net'], { input: `${PASSWORD}\n` });
  asNet.adminOk(['user', 'policy', 'bob@example.net', '--forwarding', 'allow']);
  asNet.adminOk(['user', 'add', 'carol@example.net'], { input: `${PASSWORD}\n` });
  mtaNet = await makeMta(asNet, 'mta.example.net', MBX_NET);

  asOrg.adminOk(['user', 'add', 'dave@example.org'], { input: `${PASSWORD}\n` });
  asOrg.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', 'https://mbx.example.org/oauth/callback', '--audience', 'https://mbx.example.org/']);
  mtaOrg = await makeMta(asOrg, 'mta.example.org', 'https://mbx.example.org/');

  await Promise.all([asCom.start(), asNet.start(), asOrg.start()]);
});

after(async () => {
  await env?.cleanup();
  await dns?.stop();
});

async function verifyWith(as, jwt, typ) {
  const jwks = await (await env.fetch(as.url('/jwks'))).json();
  const { payload, protectedHeader } = await jose.jwtVerify(jwt, jose.createLocalJWKSet(jwks), {
    issuer: as.issuer, typ, algorithms: ['ES256', 'RS256'],
  });
  return { payload, header: protectedHeader };
}

async function login(as, username, redirectUri) {
  const r = await loginWithPkce(env, as, { clientId: 'webmail', redirectUri, username, password: PASSWORD });
  return r.access_token;
}

async function sendHeaders({ from = 'Alice <alice@example.com>', mid = MID } = {}) {
  return [
    { 'Message-ID': mid },
    { From: from },
    { 'Recipients-Digest': await digestHeader('to:Bob <bob@example.net>\r\n') },
    { 'Body-Digest': await digestHeader('{"parts":[]}') },
  ];
}

function sendParams(subjectToken, headers) {
  return {
    subject_token: subjectToken,
    subject_token_type: TT_ACCESS,
    requested_token_type: TT_JWT,
    scope: 'internet_mail',
    headers: JSON.stringify(headers),
  };
}

async function thumbprint(keyPair) {
  return jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
}

// An unsigned-by-us token shaped like one of ours, to be refused.
function forged(header, payload, sig = 'AAAA') {
  const enc = (o) => jose.base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${sig}`;
}

let aliceToken;
let assertion;       // alice's, from asCom
let assertionHeaders;

describe('access token -> JWT assertion (SPEC §7.2-7.3)', () => {
  before(async () => {
    aliceToken = await login(asCom, 'alice@example.com', `${MBX_COM}oauth/callback`);
  });

  test('the sibling MTA gets an assertion over the headers, bound to its DPoP key', async () => {
    assertionHeaders = await sendHeaders();
    const { body, keyPair } = await exchange(env, asCom, mtaCom, sendParams(aliceToken, assertionHeaders));
    assert.equal(body.issued_token_type, TT_JWT);
    assert.equal(body.token_type, 'n_a'); // "N_A", lowercased by oauth4webapi
    assert.equal(body.scope, 'internet_mail');
    assert.equal(body.expires_in, 432000);
    assertion = body.access_token;

    const { payload, header } = await verifyWith(asCom, assertion, 'JWT');
    assert.equal(header.kid.length, 43);
    assert.equal(payload.sub, 'alice@example.com');
    assert.equal(payload.azp, 'mta.example.com');
    assert.equal(payload.scope, 'internet_mail');
    assert.equal(payload.exp - payload.iat, 432000);
    assert.equal(payload.aud, undefined);
    assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(payload.cnf.jkt, await thumbprint(keyPair));
    assert.deepEqual(payload.eh.ehl, ['Message-ID', 'From', 'Recipients-Digest', 'Body-Digest']);
    assert.equal(payload.eh.eht, await eht(assertionHeaders));
  });

  test('From must be the address of the token user', async () => {
    const r = await exchangeError(env, asCom, mtaCom,
      sendParams(aliceToken, await sendHeaders({ from: 'Mallory <mallory@example.com>' })));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /From is not the address/);
  });

  test('the Message-ID must be of the From domain', async () => {
    const r = await exchangeError(env, asCom, mtaCom,
      sendParams(aliceToken, await sendHeaders({ mid: '<x@example.net>' })));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /Message-ID domain/);
  });

  test('headers must be the four of SPEC §7.2, in order', async () => {
    const h = await sendHeaders();
    const r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, [h[1], h[0], h[2], h[3]]));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /headers\[0\] must be Message-ID/);
  });

  test('an MTA that is not the sibling of the token audience is refused', async () => {
    const r = await exchangeError(env, asCom, mtaOther, sendParams(aliceToken, await sendHeaders()));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'unauthorized_client');
  });

  test('a public client may not exchange', async () => {
    const r = await exchangeError(env, asCom, { client: { client_id: 'webmail' } },
      sendParams(aliceToken, await sendHeaders()), { auth: oauth.None() });
    assert.equal(r.body.error, 'unauthorized_client');
  });

  test('without a DPoP proof the exchange is refused', async () => {
    const r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()),
      { dpop: false });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_dpop_proof');
  });

  test('alg none and HS256 subject tokens are refused', async () => {
    const [h, p] = aliceToken.split('.').slice(0, 2).map((s) => JSON.parse(new TextDecoder().decode(jose.base64url.decode(s))));
    const none = forged({ ...h, alg: 'none' }, p, '');
    const hs = await new jose.SignJWT(p).setProtectedHeader({ ...h, alg: 'HS256' })
      .sign(new TextEncoder().encode('x'.repeat(32)));
    for (const tok of [none, hs]) {
      const r = await exchangeError(env, asCom, mtaCom, sendParams(tok, await sendHeaders()));
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'invalid_request');
      assert.match(r.body.error_description, /subject_token/);
    }
  });

  test('a tampered subject token is refused', async () => {
    const [h, , s] = aliceToken.split('.');
    const p = jose.decodeJwt(aliceToken);
    const tok = `${h}.${jose.base64url.encode(JSON.stringify({ ...p, email: 'mallory@example.com' }))}.${s}`;
    const r = await exchangeError(env, asCom, mtaCom, sendParams(tok, await sendHeaders()));
    assert.equal(r.body.error, 'invalid_request');
  });

  test('an expired subject token is refused', async () => {
    const token = await login(asOrg, 'dave@example.org', 'https://mbx.example.org/oauth/callback');
    await new Promise((r) => setTimeout(r, 2100));
    const r = await exchangeError(env, asOrg, mtaOrg,
      sendParams(token, await sendHeaders({ from: 'dave@example.org', mid: '<1@example.org>' })));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /expired/);
  });

  test('an assertion cannot stand in for an access token', async () => {
    const r = await exchangeError(env, asCom, mtaCom, sendParams(assertion, await sendHeaders()));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /typ/);
  });
});

describe('client authentication (RFC 7523, RFC 6749 §2.3)', () => {
  // A private_key_jwt with fixed claims, sent as is.
  async function assertionAuth(mta, claims) {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new jose.SignJWT({
      iss: mta.clientId, sub: mta.clientId, aud: asCom.issuer, iat: now, exp: now + 60,
      jti: crypto.randomUUID(), ...claims,
    }).setProtectedHeader({ alg: 'ES256', kid: mta.kid }).sign(mta.privateKey);
    return (_as, client, body) => {
      body.set('client_id', client.client_id);
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', jwt);
    };
  }

  test('a replayed client assertion is refused', async () => {
    const auth = await assertionAuth(mtaCom, {});
    await exchange(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()), { auth });
    const r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()), { auth });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.body.error_description, /replayed/);
  });

  test('aud may be the token endpoint; another aud, a long exp, a foreign key are refused', async () => {
    await exchange(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()),
      { auth: await assertionAuth(mtaCom, { aud: asCom.url('/token') }) });
    const cases = [
      [{ aud: 'https://elsewhere.example.com/' }, /aud/],
      [{ exp: Math.floor(Date.now() / 1000) + 3600 }, /exp/],
      [{ sub: 'someone' }, /iss and sub/],
    ];
    for (const [claims, why] of cases) {
      const r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()),
        { auth: await assertionAuth(mtaCom, claims) });
      assert.equal(r.status, 401, JSON.stringify(claims));
      assert.equal(r.body.error, 'invalid_client');
      assert.match(r.body.error_description, why);
    }
    // mtaCom's assertion signed with mtaOther's key
    const r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()),
      { auth: await assertionAuth({ ...mtaOther, clientId: 'mta.example.com', privateKey: (await jose.generateKeyPair('ES256')).privateKey }, {}) });
    assert.equal(r.status, 401);
  });

  // The AS keeps parsed client keys; a client re-registered with new
  // keys by `admin` (another process) must be checked against those.
  test('a client whose JWKS is replaced is checked against the new keys at once', async () => {
    const params = async () => sendParams(aliceToken, await sendHeaders());
    const old = await makeMta(asCom, 'mta3.example.com', MBX_COM);
    await exchange(env, asCom, old, await params());
    asCom.adminOk(['client', 'remove', 'mta3.example.com']);
    const fresh = await makeMta(asCom, 'mta3.example.com', MBX_COM);
    const r = await exchangeError(env, asCom, old, await params());
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    await exchange(env, asCom, fresh, await params());
  });

  test('two methods at once are 400; Basic for a JWKS client is 401 with a challenge', async () => {
    const both = async (_as, client, body, headers) => {
      await mtaCom.auth(_as, client, body, headers);
      headers.set('authorization', `Basic ${btoa('mta.example.com:secretsecretsecret')}`);
    };
    let r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()), { auth: both });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    r = await exchangeError(env, asCom, mtaCom, sendParams(aliceToken, await sendHeaders()),
      { auth: oauth.ClientSecretBasic('secretsecretsecret') });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate'), /^Basic/);
  });
});

function forwardHeaders(subject, { from = 'Bob <bob@example.net>', jad } = {}) {
  return Promise.all([
    { 'Message-ID': MID },
    { 'Forwarded-From': from },
    digestHeader('forwarded-to:Bobby <bobby@example.org>\r\n').then((d) => ({ 'Recipients-Digest': d })),
    (jad ? Promise.resolve(jad) : digestHeader(subject)).then((d) => ({ 'JWT-Assertion-Digest': d })),
  ]);
}

function forwardParams(subject, headers) {
  return {
    subject_token: subject,
    subject_token_type: TT_JWT,
    requested_token_type: TT_JWT,
    scope: 'internet_mail',
    headers: JSON.stringify(headers),
  };
}

function fetchParams(subject, { audience = MBX_COM, mid = MID } = {}) {
  return {
    subject_token: subject,
    subject_token_type: TT_JWT,
    requested_token_type: TT_ACCESS,
    audience,
    scope: 'internet_mail',
    message_id: mid,
  };
}

let forwarded;

describe('JWT assertion -> JWT assertion, forwarding (SPEC §9)', () => {
  test('a foreign assertion is forwarded for a user whose policy allows it', async () => {
    const headers = await forwardHeaders(assertion);
    const { body, keyPair } = await exchange(env, asNet, mtaNet, forwardParams(assertion, headers));
    assert.equal(body.issued_token_type, TT_JWT);
    assert.equal(body.token_type, 'n_a');
    forwarded = body.access_token;
    const { payload } = await verifyWith(asNet, forwarded, 'JWT');
    const origin = jose.decodeJwt(assertion);
    assert.equal(payload.sub, 'bob@example.net');
    assert.equal(payload.azp, 'mta.example.net');
    assert.equal(payload.cnf.jkt, await thumbprint(keyPair));
    assert.deepEqual(payload.eh.ehl, ['Message-ID', 'Forwarded-From', 'Recipients-Digest',
      'JWT-Assertion-Digest']);
    assert.equal(payload.eh.eht, await eht(headers));
    assert.ok(payload.exp <= origin.exp, 'never outlives the assertion it came from');
  });

  test('forwarding refused by policy', async () => {
    const r = await exchangeError(env, asNet, mtaNet,
      forwardParams(assertion, await forwardHeaders(assertion, { from: 'carol@example.net' })));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /forwarding policy of carol@example\.net/);
  });

  test('Forwarded-From must be a local user', async () => {
    for (const from of ['eve@example.net', 'alice@example.com']) {
      const r = await exchangeError(env, asNet, mtaNet,
        forwardParams(assertion, await forwardHeaders(assertion, { from })));
      assert.equal(r.body.error, 'invalid_request');
      assert.match(r.body.error_description, /Forwarded-From/);
    }
  });

  test('JWT-Assertion-Digest must be the digest of the subject assertion', async () => {
    const r = await exchangeError(env, asNet, mtaNet, forwardParams(assertion,
      await forwardHeaders(assertion, { jad: await digestHeader('something else') })));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /JWT-Assertion-Digest/);
  });

  test('a chained forward verifies under the AS of the previous Forwarded-From', async () => {
    // asCom gets asNet's assertion (sub bob@example.net) and must find
    // asNet through DNS to verify it.
    asCom.adminOk(['user', 'policy', 'alice@example.com', '--forwarding', 'allow']);
    const headers = await forwardHeaders(forwarded, { from: 'alice@example.com' });
    const { body } = await exchange(env, asCom, mtaCom, forwardParams(forwarded, headers));
    const { payload } = await verifyWith(asCom, body.access_token, 'JWT');
    assert.equal(payload.sub, 'alice@example.com');
    assert.equal(payload.eh.eht, await eht(headers));
  });
});

describe('JWT assertion -> DPoP-bound access token, fetching (SPEC §8.1-8.2)', () => {
  test('the recipient MTA gets a fetch token for the origin MBX', async () => {
    const { body, keyPair } = await exchange(env, asNet, mtaNet, fetchParams(assertion));
    assert.equal(body.issued_token_type, TT_ACCESS);
    assert.equal(body.token_type, 'dpop');
    assert.ok(body.expires_in > 0 && body.expires_in <= 3600);
    const { payload } = await verifyWith(asNet, body.access_token, 'at+jwt');
    assert.equal(payload.aud, MBX_COM);
    assert.equal(payload.azp, 'mta.example.net');
    assert.equal(payload.client_id, 'mta.example.net');
    assert.equal(payload.sub, 'mta.example.net');
    assert.equal(payload.message_id, MID);
    assert.equal(payload.scope, 'internet_mail');
    assert.equal(payload.cnf.jkt, await thumbprint(keyPair));
    assert.ok(payload.exp - payload.iat <= 3600);
  });

  test('a forwarded assertion is exchanged at the final hop, its issuer found by DNS', async () => {
    const { body } = await exchange(env, asOrg, mtaOrg, fetchParams(forwarded));
    const { payload } = await verifyWith(asOrg, body.access_token, 'at+jwt');
    assert.equal(payload.azp, 'mta.example.org');
  });

  test('message_id of another domain than the origin sender is refused', async () => {
    const r = await exchangeError(env, asNet, mtaNet, fetchParams(assertion, { mid: '<x@example.org>' }));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /message_id domain/);
  });

  test('an audience that is not an https base URL is invalid_target', async () => {
    const r = await exchangeError(env, asNet, mtaNet, fetchParams(assertion, { audience: 'http://mbx.example.com/' }));
    assert.equal(r.body.error, 'invalid_target');
  });

  test('a foreign assertion whose iss is not the AS that DNS names for its domain is refused', async () => {
    // iss names asOrg, a real AS, but sub is alice@example.com, whose
    // domain's AS (by DNS) is asCom.
    const p = jose.decodeJwt(assertion);
    const key = (await jose.generateKeyPair('ES256')).privateKey;
    const rogue = await new jose.SignJWT({ ...p, iss: asOrg.issuer })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'k1' }).sign(key);
    const r = await exchangeError(env, asNet, mtaNet, fetchParams(rogue));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /not the AS that DNS names for example\.com/);
  });

  test('the right iss with a key that is not the issuer\'s is refused', async () => {
    const p = jose.decodeJwt(assertion);
    const key = (await jose.generateKeyPair('ES256')).privateKey;
    const forgedA = await new jose.SignJWT(p)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'not-a-kid-of-as-example-com' }).sign(key);
    const r = await exchangeError(env, asNet, mtaNet, fetchParams(forgedA));
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /kid/);
  });

  test('an access token is not an assertion', async () => {
    const r = await exchangeError(env, asNet, mtaNet, fetchParams(aliceToken));
    assert.equal(r.body.error, 'invalid_request');
  });

  test('unknown token type pairs and actor tokens are refused', async () => {
    let r = await exchangeError(env, asNet, mtaNet, { ...fetchParams(assertion), requested_token_type: 'urn:x' });
    assert.equal(r.body.error, 'invalid_request');
    r = await exchangeError(env, asNet, mtaNet, { ...fetchParams(assertion), actor_token: 'x', actor_token_type: TT_JWT });
    assert.equal(r.body.error, 'invalid_request');
    r = await exchangeError(env, asNet, mtaNet, { ...fetchParams(assertion), scope: 'openid' });
    assert.equal(r.body.error, 'invalid_scope');
    // metadata lists the grant
    assert.ok((await asMetadata(env, asNet)).grant_types_supported.includes(
      'urn:ietf:params:oauth:grant-type:token-exchange'));
  });
});
