// Sending from the Mailbox (SPEC §7.1-7.4, §7.6, §10) against a real
// `federizer as` and a real `federizer mbx` over HTTPS, the MBX's MTA a
// confidential client of the AS (private_key_jwt + DPoP): the sent
// document's Date and digests recomputed here, its JWT assertion
// verified with jose against the AS's JWKS and its eht recomputed; the
// local copy in bob's inbox with its receipt block, inline body and
// attachment (which bob now owns), no Bcc in it; status per domain;
// recall while the remote domain is queued; and every refusal (unowned
// or wrong-size resource, no recipients, sent twice, another's draft).
// The AS demands DPoP nonces (RFC 9449 §8), which the MTA's client meets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as jose from 'jose';

import { AsServer, makeFetch, makeTestEnv } from './lib/index.mjs';
import { loginWithPkce } from './lib/login.mjs';
import { MbxServer } from './lib/mbx.mjs';
import { digestHeader, eht } from './lib/mta.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.net';
const NOBODY = 'nobody@example.com'; // of our domain, no mailbox
const PW = 'correct horse battery';
const EXCHANGE_HEADERS = ['Message-ID', 'From', 'Recipients-Digest', 'Body-Digest'];
const RFC5322_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

let env;
let as;
let mbx;
let alice;
let bob;

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const digestOf = (buf) => b64u(createHash('sha256').update(buf).digest());

// RFC 8785 for the trees a Placeholder holds (objects, arrays, strings):
// members sorted by UTF-16 code units, which is what sort() compares.
function jcs(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`;
}

// The value of header name (any case) in a block [{Name: value}, ...].
function header(block, name) {
  const h = block.find((x) => Object.keys(x)[0].toLowerCase() === name.toLowerCase());
  return h ? Object.values(h)[0] : undefined;
}

function api(path, token, init = {}, via = env.fetch) {
  const headers = { ...(init.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return via(mbx.url(path), { ...init, headers });
}

async function json(r, status) {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return text ? JSON.parse(text) : null;
}

async function upload(token, bytes, type) {
  const r = await api('/api/v1/resources', token, { method: 'POST', body: bytes, headers: { 'content-type': type } });
  assert.ok(r.status === 201 || r.status === 200, `upload ${r.status}`);
  return r.json();
}

const external = (size, type) => [
  `message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${size}"`, type];

function leaf(digest, size, type, disposition) {
  return { headers: [{ 'Content-Disposition': disposition }, { 'Content-ID': `<${digest}>` },
    { 'Content-Type': external(size, type) }] };
}

async function createDraft(token, headers, parts) {
  const doc = { envelope: [{ headers: [...headers, { 'Content-Type': 'multipart/mixed' }] }], body: { parts } };
  const r = await api('/api/v1/messages', token, {
    method: 'POST', body: JSON.stringify(doc), headers: { 'content-type': 'application/json' },
  });
  return json(r, 201);
}

const send = (token, id) => api(`/api/v1/messages/${id}/send`, token, { method: 'POST' });

async function accessToken(username) {
  const r = await loginWithPkce(env, as, {
    clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username, password: PW,
  });
  return r.access_token;
}

before(async () => {
  env = await makeTestEnv('fz-send-');
  // dpop.nonce: the AS answers the MTA's first proof with use_dpop_nonce,
  // so every send here also proves the client's retry with DPoP-Nonce.
  as = await AsServer.create(env, { name: 'localhost', config: { dpop: { nonce: true } } });
  // queued transfers stay queued here: no MTA worker (federation-e2e runs it)
  mbx = await MbxServer.create(env, as, { config: { queue: { workers: 0 } } });
  for (const u of [ALICE, BOB]) as.adminOk(['user', 'add', u], { input: `${PW}\n` });
  as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.baseUrl]);
  await mbx.registerMta();
  await as.start();
  await mbx.start();
  alice = await accessToken(ALICE);
  bob = await accessToken(BOB);
  // A user has a mailbox once they have called the MBX: bob has.
  await json(await api('/api/v1/sync', bob), 200);
});

after(async () => {
  for (const server of env?.servers ?? []) {
    const exit = await server.stop();
    assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, server.log);
  }
  await env?.cleanup();
});

describe('sending to a local and a remote recipient', () => {
  const text = 'Hi Bob,\nthe photo is attached.\n';
  const photo = Buffer.alloc(70000, 7);
  let body;
  let attachment;
  let sent;     // the 202 answer
  let bobState; // bob's sync state before the send

  before(async () => {
    body = await upload(alice, Buffer.from(text), 'text/plain; charset=UTF-8');
    attachment = await upload(alice, photo, 'image/png');
    bobState = (await json(await api('/api/v1/sync', bob), 200)).state;
    const draft = await createDraft(alice, [
      { From: `Alice <${ALICE}>` }, { To: `Bob <${BOB}>` }, { Cc: NOBODY }, { Bcc: CAROL },
      { Subject: 'Vacation photo' },
    ], [
      leaf(body.digest, Buffer.byteLength(text), 'text/plain; charset=UTF-8', 'inline'),
      leaf(attachment.digest, photo.length, 'image/png', 'attachment; filename="Venice.png"'),
    ]);
    // bob waits for mail and is woken by the send, made over connections
    // of its own: a long poll holds its worker thread and the keep-alive
    // connections that thread serves (docs/operations.md)
    const other = makeFetch({ ca: env.pki.caPem });
    const t0 = Date.now();
    const waiting = api(`/api/v1/sync?since=${encodeURIComponent(bobState)}&wait=20`, bob);
    await new Promise((ok) => setTimeout(ok, 200));
    sent = await json(await api(`/api/v1/messages/${draft.id}/send`, alice, { method: 'POST' }, other), 202);
    await other.close();
    const woke = await json(await waiting, 200);
    assert.equal(woke.changed.length, 1);
    assert.ok(Date.now() - t0 < 5000, 'the send woke the long poll');
  });

  test('202 answers the sent message and each recipient\'s outcome', () => {
    assert.equal(sent.folder, 'sent');
    const by = Object.fromEntries(sent.recipients.map((r) => [r.address, r]));
    assert.equal(by[BOB].state, 'delivered');
    assert.equal(by[CAROL].state, 'queued');
    assert.equal(by[CAROL].domain, 'example.net');
    assert.equal(by[NOBODY].state, 'failed');
    assert.match(by[NOBODY].reason, /no such user/);
  });

  test('the stored message has Date, Body-Digest and Recipients-Digest, first', async () => {
    const m = await json(await api(`/api/v1/messages/${sent.id}`, alice), 200);
    assert.deepEqual(m.document, sent.document);
    const [top, origin] = [m.document.envelope[0], m.document.envelope[1].headers];
    assert.equal(m.document.envelope.length, 2);
    assert.ok(top['jwt-assertion']);
    assert.deepEqual(origin.slice(0, 3).map((h) => Object.keys(h)[0]), ['Date', 'Recipients-Digest', 'Body-Digest']);
    assert.match(header(origin, 'Date'), RFC5322_DATE);
    assert.equal(header(origin, 'Body-Digest'), await digestHeader(jcs(m.document.body)));
    const c = ['To', 'Cc', 'Bcc'].map((n) => `${n.toLowerCase()}:${header(origin, n).trim()}\r\n`).join('');
    assert.equal(header(origin, 'Recipients-Digest'), await digestHeader(c));
    // the sender's copy keeps its Bcc
    assert.equal(header(origin, 'Bcc'), CAROL);
    // a sent message is immutable
    const r = await api(`/api/v1/messages/${sent.id}`, alice, {
      method: 'PUT', body: JSON.stringify(m.document), headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 409);
    await r.arrayBuffer();
  });

  test('the JWT assertion verifies against the AS\'s JWKS and its eht recomputes', async () => {
    const jwks = await json(await env.fetch(as.url('/jwks')), 200);
    const jws = sent.document.envelope[0]['jwt-assertion'];
    const { payload, protectedHeader } = await jose.jwtVerify(jws, jose.createLocalJWKSet(jwks), {
      issuer: as.issuer, typ: 'JWT',
    });
    assert.ok(protectedHeader.kid);
    assert.equal(payload.sub, ALICE);
    assert.equal(payload.azp, 'mta.example.com');
    assert.equal(payload.scope, 'internet_mail');
    assert.match(payload.cnf.jkt, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(payload.eh.ehl, EXCHANGE_HEADERS);
    const origin = sent.document.envelope[1].headers;
    const signed = EXCHANGE_HEADERS.map((n) => ({ [n]: header(origin, n) }));
    assert.equal(payload.eh.eht, await eht(signed));
    assert.ok(payload.exp - payload.iat > 86400);
    // the AS wanted a nonce first, and the MTA came back with it
    assert.match(as.log, /POST \/token 400 .*no nonce[^\n]*\n[^\n]*POST \/token 200/);
  });

  test('bob\'s inbox has the message, its inline body and the receipt block, no Bcc', async () => {
    const s = await json(await api(`/api/v1/sync?since=${encodeURIComponent(bobState)}`, bob), 200);
    assert.equal(s.changed.length, 1);
    const m = s.changed[0];
    assert.equal(m.folder, 'inbox');
    assert.equal(m.flags.seen, false);
    assert.equal(s.inline[body.digest].text, text);
    const env0 = m.document.envelope;
    assert.equal(env0.length, 3);
    const receipt = env0[0].headers;
    const jws = env0[1]['jwt-assertion'];
    assert.equal(jws, sent.document.envelope[0]['jwt-assertion']);
    assert.deepEqual(receipt.map((h) => Object.keys(h)[0]), ['Message-ID', 'JWT-Assertion-Digest', 'Received']);
    assert.equal(header(receipt, 'Message-ID'), header(env0[2].headers, 'Message-ID'));
    assert.equal(header(receipt, 'JWT-Assertion-Digest'), await digestHeader(jws));
    assert.match(header(receipt, 'Received'), /^from example\.com by example\.com; /);
    assert.match(header(receipt, 'Received').split('; ')[1], RFC5322_DATE);
    assert.equal(header(env0[2].headers, 'Bcc'), undefined);
    assert.equal(JSON.stringify(m.document).includes(CAROL), false);
    // the rest of the origin block is the sender's, byte for byte
    const mine = sent.document.envelope[1].headers.filter((h) => Object.keys(h)[0] !== 'Bcc');
    assert.deepEqual(env0[2].headers, mine);
    assert.deepEqual(m.document.body, sent.document.body);
  });

  test('bob owns the attachment now: it downloads by digest', async () => {
    const r = await api(`/api/v1/resources/${attachment.digest}`, bob);
    assert.equal(r.status, 200);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.equal(digestOf(bytes), attachment.digest);
    assert.equal(r.headers.get('content-type'), 'image/png');
  });

  test('status: example.com delivered (and one unknown), example.net queued; recall', async () => {
    let st = await json(await api(`/api/v1/messages/${sent.id}/status`, alice), 200);
    assert.equal(st.id, sent.id);
    assert.equal(st.recallable, true);
    const find = (d, state) => st.domains.find((x) => x.domain === d && x.state === state);
    assert.deepEqual(find('example.com', 'delivered').recipients, [BOB]);
    assert.deepEqual(find('example.com', 'failed').recipients, [NOBODY]);
    assert.deepEqual(find('example.net', 'queued').recipients, [CAROL]);
    assert.match(find('example.net', 'queued').updated, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // bob may not see alice's status, nor recall her message
    let r = await api(`/api/v1/messages/${sent.id}/status`, bob);
    assert.equal(r.status, 404);
    await r.arrayBuffer();

    st = await json(await api(`/api/v1/messages/${sent.id}/recall`, alice, { method: 'POST' }), 200);
    assert.equal(st.recallable, false);
    const net = st.domains.find((x) => x.domain === 'example.net');
    assert.equal(net.state, 'failed');
    assert.match(net.reason, /recalled/);
    // what was delivered locally stays delivered
    assert.ok(st.domains.some((x) => x.domain === 'example.com' && x.state === 'delivered'));
    r = await api(`/api/v1/messages/${sent.id}/recall`, alice, { method: 'POST' });
    assert.equal(r.status, 409);
    await r.arrayBuffer();
  });

  test('sending it twice is 409', async () => {
    const r = await send(alice, sent.id);
    assert.equal(r.status, 409);
    await r.arrayBuffer();
  });
});

describe('refusals', () => {
  const text = 'just text\n';
  let mine;

  before(async () => {
    mine = await upload(alice, Buffer.from(text), 'text/plain; charset=UTF-8');
  });

  const textLeaf = (digest = mine.digest, size = Buffer.byteLength(text)) =>
    leaf(digest, size, 'text/plain; charset=UTF-8', 'inline');

  test('a resource the sender does not own is 422 naming the part', async () => {
    const bobs = await upload(bob, Buffer.from('bob only\n'), 'text/plain');
    const d = await createDraft(alice, [{ From: ALICE }, { To: BOB }],
      [textLeaf(), textLeaf(bobs.digest, 9)]);
    const e = await json(await send(alice, d.id), 422);
    assert.equal(e.error, 'invalid_resource');
    assert.match(e.error_description, /^body\.parts\[1\]: /);
    assert.match(e.error_description, new RegExp(bobs.digest));
    // nothing was sent: it is still a draft, nobody got it
    const m = await json(await api(`/api/v1/messages/${d.id}`, alice), 200);
    assert.equal(m.folder, 'drafts');
  });

  test('a wrong size is 422', async () => {
    const d = await createDraft(alice, [{ From: ALICE }, { To: BOB }],
      [{ headers: [{ 'Content-Type': 'multipart/alternative' }], parts: [textLeaf(mine.digest, 11)] }]);
    const e = await json(await send(alice, d.id), 422);
    assert.match(e.error_description, /^body\.parts\[0\]\.parts\[0\]: .*11/);
  });

  test('no recipients is 422', async () => {
    const d = await createDraft(alice, [{ From: ALICE }, { Subject: 'to nobody' }], [textLeaf()]);
    const e = await json(await send(alice, d.id), 422);
    assert.match(e.error_description, /no recipients/);
  });

  test('another user\'s draft is 404; a malformed id too', async () => {
    const d = await createDraft(alice, [{ From: ALICE }, { To: BOB }], [textLeaf()]);
    let r = await send(bob, d.id);
    assert.equal(r.status, 404);
    await r.arrayBuffer();
    r = await send(alice, 'not-an-id');
    assert.equal(r.status, 404);
    await r.arrayBuffer();
    r = await api(`/api/v1/messages/${d.id}/status`, alice);
    assert.equal(r.status, 404); // a draft has no delivery
    await r.arrayBuffer();
  });

  test('mail to oneself lands in the own inbox too', async () => {
    const d = await createDraft(alice, [{ From: ALICE }, { To: ALICE }], [textLeaf()]);
    const s = await json(await send(alice, d.id), 202);
    assert.deepEqual(s.recipients.map((x) => x.state), ['delivered']);
    const all = await json(await api('/api/v1/sync', alice), 200);
    const copies = all.changed.filter((m) => m.document.envelope.at(-1).headers
      .some((h) => h['Message-ID'] === header(s.document.envelope[1].headers, 'Message-ID')));
    assert.deepEqual(copies.map((m) => m.folder).sort(), ['inbox', 'sent']);
    const st = await json(await api(`/api/v1/messages/${s.id}/status`, alice), 200);
    assert.equal(st.recallable, false); // no remote domain to recall from
    const r = await api(`/api/v1/messages/${s.id}/recall`, alice, { method: 'POST' });
    assert.equal(r.status, 409);
    await r.arrayBuffer();
  });
});
