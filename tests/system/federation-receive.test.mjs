// Receiving from another domain (SPEC §7.5) and serving its fetches
// (§8.3) between real `federizer as` and `federizer mbx` processes of
// example.com and example.net (and an AS of example.org, a domain that
// is no recipient), found by each other through a real dnsmasq. Node
// plays the MTAs: example.com's with MBX1's own keys (the private_key_jwt
// key and the DPoP key the MBX made), to POST what MBX1's /send stored to
// MBX2; example.net's to fetch from MBX1 with a token from AS2.
//
// Receiving: 201 and bob's copy stored but not in his sync (its inline
// body is not fetched yet); the same again 200; and each refusal with
// its status and error: bad proof, replayed proof, an assertion of the
// AS of another domain, a header changed after signing, an azp that is
// not MBX1's MTA, no local recipient, a Message-ID of another domain.
// Serving: the bytes with Repr-Digest, a Range, and the refusals:
// digest not referenced, a domain that is no recipient, a forged chain,
// a recalled message, a token for another audience.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

import { AsServer, freePort, makeTestEnv } from './lib/index.mjs';
import { startDnsmasq } from './lib/dns.mjs';
import { loginWithPkce } from './lib/login.mjs';
import { MbxServer } from './lib/mbx.mjs';
import { TT_ACCESS, TT_JWT, digestHeader, exchange, makeMta } from './lib/mta.mjs';

const PW = 'correct horse battery';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.net';

let env, dns;
let as1, as2, as3, mbx1, mbx2;
let mta1;        // example.com's MTA as node drives it: MBX1's own keys
let mtaOther;    // another MTA of example.com: not the one MBX1 names
let mta2, mta3;  // example.net's and example.org's fetching MTAs
let alice, bob;  // access tokens

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const sha = (x) => b64u(createHash('sha256').update(x).digest());

function jcs(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`;
}

const portOf = (url) => Number(new URL(url).port);

async function json(r, status) {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return text ? JSON.parse(text) : null;
}

function api(mbx, path, token, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return env.fetch(mbx.url(path), { ...init, headers });
}

// A DPoP proof (RFC 9449 §4.2) with key { privateKey, publicJwk }.
async function proof(key, htm, htu, token, { jti = randomUUID(), iat } = {}) {
  const claims = { jti, htm, htu, iat: iat ?? Math.floor(Date.now() / 1000) };
  if (token) claims.ath = sha(token);
  return new jose.SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    .sign(key.privateKey);
}

async function keyOf(pair) {
  const publicJwk = await jose.exportJWK(pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk };
}

// POST /mta/v1/messages to mbx2 as an MTA holding key.
async function deliver(doc, assertion, key, { dpop, url = mbx2.url('/mta/v1/messages') } = {}) {
  const p = dpop ?? await proof(key, 'POST', url, assertion);
  const r = await env.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `DPoP ${assertion}`, dpop: p },
    body: JSON.stringify(doc),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, www: r.headers.get('www-authenticate'), proof: p };
}

const external = (size, type) => [
  `message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${size}"`, type];
const leaf = (digest, size, type, disposition) => ({ headers: [{ 'Content-Disposition': disposition },
  { 'Content-ID': `<${digest}>` }, { 'Content-Type': external(size, type) }] });

// A sent origin block and the assertion AS1 gives mta for it.
async function signed({ to = `Bob <${BOB}>`, from = `Alice <${ALICE}>`, mid, body, mta = mta1,
  as = as1, token = alice } = {}) {
  mid ??= `<${randomUUID()}@example.com>`;
  const block = [{ Date: new Date().toUTCString().replace('GMT', '+0000') }, { From: from }, { To: to },
    { Subject: 'Vacation photo' }, { 'Message-ID': mid },
    { 'Recipients-Digest': await digestHeader(`to:${to}\r\n`) },
    { 'Body-Digest': await digestHeader(jcs(body)) }, { 'Content-Type': 'multipart/mixed' }];
  const headers = ['Message-ID', 'From', 'Recipients-Digest', 'Body-Digest']
    .map((n) => ({ [n]: Object.values(block.find((h) => Object.keys(h)[0] === n))[0] }));
  const { body: tok, keyPair } = await exchange(env, as, mta, {
    subject_token: token, subject_token_type: TT_ACCESS, requested_token_type: TT_JWT,
    scope: 'internet_mail', headers: JSON.stringify(headers),
  });
  return { doc: { envelope: [{ 'jwt-assertion': tok.access_token }, { headers: block }], body },
    assertion: tok.access_token, key: await keyOf(keyPair), mid };
}

// MBX1's MTA, from the files registerMta and the MBX wrote.
async function mbxMta(mbx, kid) {
  const read = (f) => readFileSync(join(mbx.dir, f), 'utf8');
  const key = await jose.importPKCS8(read('mta.pem'), 'ES256');
  const dpopKey = await jose.importPKCS8(read('mta-dpop.pem'), 'ES256', { extractable: true });
  const { d, ...publicJwk } = await jose.exportJWK(dpopKey);
  assert.ok(d);
  return {
    clientId: mbx.cfg.mta.client_id,
    client: { client_id: mbx.cfg.mta.client_id },
    auth: oauth.PrivateKeyJwt({ key, kid }),
    dpop: { privateKey: dpopKey, publicJwk },
  };
}

before(async () => {
  env = await makeTestEnv('fz-fed-recv-');
  const dnsPort = await freePort();
  const dns_server = `127.0.0.1:${dnsPort}`;
  as1 = await AsServer.create(env, { name: 'as.example.com', domains: ['example.com'], config: { dns_server } });
  as2 = await AsServer.create(env, { name: 'as.example.net', domains: ['example.net'], config: { dns_server } });
  as3 = await AsServer.create(env, { name: 'as.example.org', domains: ['example.org'], config: { dns_server } });
  mbx1 = await MbxServer.create(env, as1, { name: 'mbx.example.com', domains: ['example.com'],
    mtaClientId: 'mta.example.com', config: { dns_server, queue: { workers: 0 } } });
  mbx2 = await MbxServer.create(env, as2, { name: 'mbx.example.net', domains: ['example.net'],
    mtaClientId: 'mta.example.net', config: { dns_server, queue: { workers: 0 } } });
  dns = await startDnsmasq({
    port: dnsPort,
    srv: [
      ['_federizer._as._tcp.example.com', 'as.example.com', portOf(as1.issuer)],
      ['_federizer._as._tcp.example.net', 'as.example.net', portOf(as2.issuer)],
      ['_federizer._as._tcp.example.org', 'as.example.org', portOf(as3.issuer)],
      ['_federizer._rs._tcp.example.com', 'mbx.example.com', portOf(mbx1.baseUrl)],
      ['_federizer._rs._tcp.example.net', 'mbx.example.net', portOf(mbx2.baseUrl)],
    ],
    hosts: ['as.example.com', 'as.example.net', 'as.example.org', 'mbx.example.com', 'mbx.example.net'],
  });
  as1.adminOk(['user', 'add', ALICE], { input: `${PW}\n` });
  as2.adminOk(['user', 'add', BOB], { input: `${PW}\n` });
  for (const [as, mbx] of [[as1, mbx1], [as2, mbx2]]) {
    as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
      '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.baseUrl]);
  }
  const { kid } = await mbx1.registerMta();
  mtaOther = await makeMta(as1, 'mta2.example.com', mbx1.baseUrl);
  mta2 = await makeMta(as2, 'mta.example.net', mbx2.baseUrl);
  mta3 = await makeMta(as3, 'mta.example.org', 'https://mbx.example.org/');
  await Promise.all([as1.start(), as2.start(), as3.start()]);
  await Promise.all([mbx1.start(), mbx2.start()]);
  mta1 = await mbxMta(mbx1, kid);
  const login = async (as, mbx, username) => (await loginWithPkce(env, as, {
    clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username, password: PW })).access_token;
  alice = await login(as1, mbx1, ALICE);
  bob = await login(as2, mbx2, BOB);
  await json(await api(mbx1, '/api/v1/sync', alice), 200);
  await json(await api(mbx2, '/api/v1/sync', bob), 200); // bob has a mailbox now
});

after(async () => {
  for (const server of env?.servers ?? []) {
    const exit = await server.stop();
    assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, server.log);
  }
  await env?.cleanup();
  await dns?.stop();
});

const TEXT = 'Hi Bob,\nthe photo is attached.\n';
const PHOTO = Buffer.alloc(70001, 9);
let sent;      // MBX1's answer to /send: { id, document }
let textDigest, photoDigest;

async function upload(bytes, type) {
  const r = await api(mbx1, '/api/v1/resources', alice, { method: 'POST', body: bytes, headers: { 'content-type': type } });
  assert.ok(r.status === 201 || r.status === 200, `upload ${r.status}`);
  return (await r.json()).digest;
}

async function sendFromMbx1(parts, to = `Bob <${BOB}>`) {
  const doc = { envelope: [{ headers: [{ From: `Alice <${ALICE}>` }, { To: to }, { Subject: 'Vacation photo' },
    { 'Content-Type': 'multipart/mixed' }] }], body: { parts } };
  const draft = await json(await api(mbx1, '/api/v1/messages', alice, {
    method: 'POST', body: JSON.stringify(doc), headers: { 'content-type': 'application/json' } }), 201);
  return json(await api(mbx1, `/api/v1/messages/${draft.id}/send`, alice, { method: 'POST' }), 202);
}

const midOf = (doc) => Object.values(doc.envelope.at(-1).headers.find((h) => Object.keys(h)[0] === 'Message-ID'))[0];

describe('receiving (SPEC §7.5)', () => {
  before(async () => {
    textDigest = await upload(Buffer.from(TEXT), 'text/plain; charset=UTF-8');
    photoDigest = await upload(PHOTO, 'image/png');
    sent = await sendFromMbx1([
      leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline'),
      leaf(photoDigest, PHOTO.length, 'image/png', 'attachment; filename="Venice.png"'),
    ]);
  });

  test('what MBX1 sent is stored for bob, hidden from sync until fetched', async () => {
    const r = await deliver(sent.document, sent.document.envelope[0]['jwt-assertion'], mta1.dpop);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'delivered');
    assert.equal(r.body.copies, 1);
    assert.equal(r.body.fetches, 2);
    const sync = await json(await api(mbx2, '/api/v1/sync', bob), 200);
    assert.equal(sync.changed.length, 0);
    assert.match(mbx2.log, /received <[^>]+@example\.com> from example\.com: 1 copy, 2 fetches queued/);
  });

  test('the same message again is already delivered, nothing duplicated', async () => {
    const r = await deliver(sent.document, sent.document.envelope[0]['jwt-assertion'], mta1.dpop);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'already delivered');
  });

  // PUT .../messages/{message-id}/resources/{digest} as MTA1 (SPEC §7.7)
  async function push(digest, bytes, jws = sent.document.envelope[0]['jwt-assertion']) {
    const url = mbx2.url(`/mta/v1/messages/${encodeURIComponent(midOf(sent.document))}/resources/${digest}`);
    const r = await env.fetch(url, {
      method: 'PUT', body: bytes,
      headers: { 'content-type': 'application/octet-stream', authorization: `DPoP ${jws}`,
        dpop: await proof(mta1.dpop, 'PUT', url, jws) },
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  test('a push of the inline body makes the copy visible with it', async () => {
    const wrong = await push(textDigest, Buffer.from(TEXT.toUpperCase()));
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.error_description, /do not hash to/);
    const stray = await push(sha('x'), Buffer.from('x'));
    assert.equal(stray.status, 403);
    const r = await push(textDigest, Buffer.from(TEXT));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const sync = await json(await api(mbx2, '/api/v1/sync', bob), 200);
    assert.equal(sync.changed.length, 1);
    const [top, assertion] = sync.changed[0].document.envelope;
    assert.deepEqual(Object.keys(top.headers[0]), ['Message-ID']);
    assert.equal(Object.values(top.headers[1])[0], `<${sha(assertion['jwt-assertion'])}>`);
    assert.match(Object.values(top.headers[2])[0], /^from example\.com by example\.net; \w{3}, \d{2} \w{3} \d{4} /);
    assert.equal(sync.inline[textDigest].text, TEXT);
    // the attachment is not here yet: bob cannot have it
    assert.equal((await api(mbx2, `/api/v1/resources/${photoDigest}`, bob)).status, 404);
  });

  test('a proof for another URL is refused', async () => {
    const jws = sent.document.envelope[0]['jwt-assertion'];
    const bad = await proof(mta1.dpop, 'POST', mbx2.url('/mta/v1/other'), jws);
    const r = await deliver(sent.document, jws, mta1.dpop, { dpop: bad });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.www, /^DPoP error="invalid_dpop_proof"/);
  });

  test('a replayed proof is refused', async () => {
    const jws = sent.document.envelope[0]['jwt-assertion'];
    const first = await deliver(sent.document, jws, mta1.dpop);
    assert.equal(first.status, 200);
    const r = await deliver(sent.document, jws, mta1.dpop, { dpop: first.proof });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /seen before/);
  });

  test('a proof with another key than cnf.jkt is refused', async () => {
    const jws = sent.document.envelope[0]['jwt-assertion'];
    const other = await keyOf(await oauth.generateKeyPair('ES256'));
    const r = await deliver(sent.document, jws, other);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /cnf\.jkt/);
  });

  test('an assertion by the AS of another domain is refused', async () => {
    // AS2 signs for bob; the document says it is from example.com
    const body = { parts: [leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')] };
    const real = await signed({ body });
    const net = await signed({ body, from: `Bob <${BOB}>`, mid: `<${randomUUID()}@example.net>`,
      to: `Alice <${ALICE}>`, mta: mta2, as: as2, token: bob });
    const doc = { envelope: [{ 'jwt-assertion': net.assertion }, real.doc.envelope[1]], body };
    const r = await deliver(doc, net.assertion, net.key);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'access_denied');
    assert.match(r.body.error_description, /iss is not the AS that DNS names for example\.com/);
  });

  test('a header changed after signing is refused (eht)', async () => {
    const body = { parts: [leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')] };
    const s = await signed({ body });
    s.doc.envelope[1].headers[1] = { From: `Mallory <${ALICE}>` };
    const r = await deliver(s.doc, s.assertion, s.key);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_token');
    assert.match(r.body.error_description, /eht does not match/);
    assert.match(r.www, /^DPoP error="invalid_token"/);
  });

  test('a body changed after signing is refused (Body-Digest)', async () => {
    const body = { parts: [leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')] };
    const s = await signed({ body });
    s.doc.body = { parts: [leaf(photoDigest, PHOTO.length, 'image/png', 'inline')] };
    const r = await deliver(s.doc, s.assertion, s.key);
    assert.equal(r.status, 403);
    assert.match(r.body.error_description, /Body-Digest does not match the body/);
  });

  test('an azp that is not the MTA MBX1 names is refused', async () => {
    const body = { parts: [leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')] };
    const s = await signed({ body, mta: mtaOther });
    const r = await deliver(s.doc, s.assertion, s.key);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'access_denied');
    assert.match(r.body.error_description, /azp is not the federizer_mta_client_id of example\.com/);
  });

  test('no local recipient is 422 unknown_recipient', async () => {
    const body = { parts: [leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')] };
    const s = await signed({ body, to: 'Nobody <nobody@example.net>' });
    const r = await deliver(s.doc, s.assertion, s.key);
    assert.equal(r.status, 422);
    assert.equal(r.body.error, 'unknown_recipient');
  });

  test('a Message-ID of another domain is refused', async () => {
    const body = { parts: [leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')] };
    const s = await signed({ body });
    s.doc.envelope[1].headers[4] = { 'Message-ID': '<x@example.net>' };
    const r = await deliver(s.doc, s.assertion, s.key);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    assert.match(r.body.error_description, /Message-ID is not of the From domain/);
  });
});

describe('serving fetches (SPEC §8.3)', () => {
  // A fetch token from as for mta: the newest assertion of doc, for MBX1.
  async function fetchToken(doc, mta = mta2, as = as2, audience = mbx1.baseUrl) {
    const { body, keyPair } = await exchange(env, as, mta, {
      subject_token: doc.envelope[0]['jwt-assertion'], subject_token_type: TT_JWT,
      requested_token_type: TT_ACCESS, scope: 'internet_mail', audience, message_id: midOf(doc),
    });
    return { token: body.access_token, key: await keyOf(keyPair) };
  }

  async function fetchRes(digest, doc, t, headers = {}) {
    const url = mbx1.url(`/mta/v1/resources/${digest}`);
    const r = await env.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `DPoP ${t.token}`,
        dpop: await proof(t.key, 'POST', url, t.token), ...headers },
      body: JSON.stringify({ envelope: doc.envelope }),
    });
    const buf = Buffer.from(await r.arrayBuffer());
    return { status: r.status, buf, headers: r.headers, json: () => JSON.parse(buf.toString()) };
  }

  test('a recipient domain gets the bytes, with Repr-Digest, and may resume', async () => {
    const t = await fetchToken(sent.document);
    const r = await fetchRes(photoDigest, sent.document, t);
    assert.equal(r.status, 200, r.buf.toString().slice(0, 300));
    assert.ok(r.buf.equals(PHOTO));
    assert.equal(r.headers.get('repr-digest'), `sha-256=:${createHash('sha256').update(PHOTO).digest('base64')}:`);
    const part = await fetchRes(photoDigest, sent.document, t, { range: 'bytes=70000-' });
    assert.equal(part.status, 206);
    assert.equal(part.buf.length, 1);
    assert.match(mbx1.log, /serving <[^>]+> \S+ to example\.net/);
  });

  test('a digest the message does not reference is refused', async () => {
    const t = await fetchToken(sent.document);
    const r = await fetchRes(sha('nothing'), sent.document, t);
    assert.equal(r.status, 403);
    assert.match(r.json().error_description, /does not reference/);
  });

  test('a domain that is no recipient is refused', async () => {
    const t = await fetchToken(sent.document, mta3, as3);
    const r = await fetchRes(textDigest, sent.document, t);
    assert.equal(r.status, 403);
    assert.equal(r.json().error, 'access_denied');
    assert.match(r.json().error_description, /AS of no recipient domain/);
  });

  test('a forged chain is refused', async () => {
    const t = await fetchToken(sent.document);
    const forged = structuredClone(sent.document);
    forged.envelope[1].headers.push({ Cc: 'eve@example.org' });
    let r = await fetchRes(textDigest, forged, t);
    assert.equal(r.status, 403);
    assert.match(r.json().error_description, /origin header block is not the one/);
    // a forward hop nobody signed, to a domain of the fetcher's choice
    const hop = structuredClone(sent.document);
    hop.envelope.unshift({ headers: [{ 'Forwarded-From': BOB }, { 'Forwarded-To': 'eve@example.org' },
      { 'Message-ID': midOf(sent.document) }] });
    hop.envelope.unshift({ 'jwt-assertion': sent.document.envelope[0]['jwt-assertion'] });
    r = await fetchRes(textDigest, hop, t);
    assert.equal(r.status, 403);
    assert.match(r.json().error_description, /hop 1/);
  });

  test('a token for another audience is refused', async () => {
    const t = await fetchToken(sent.document, mta2, as2, 'https://mbx.example.org/');
    const r = await fetchRes(textDigest, sent.document, t);
    assert.equal(r.status, 401);
    assert.equal(r.json().error, 'invalid_token');
    assert.match(r.headers.get('www-authenticate'), /^DPoP error="invalid_token"/);
  });

  test('a recalled message is refused', async () => {
    const other = await sendFromMbx1([leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline')]);
    await json(await api(mbx1, `/api/v1/messages/${other.id}/recall`, alice, { method: 'POST' }), 200);
    const r = await fetchRes(textDigest, other.document, await fetchToken(other.document));
    assert.equal(r.status, 410);
    assert.equal(r.json().error, 'recalled');
  });
});
