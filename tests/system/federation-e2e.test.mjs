// Mail between domains end to end, with nothing played by node but the
// users: three AS + MBX pairs (example.com, example.net, example.org)
// found by each other through a real dnsmasq, the MBXes' own MTA
// workers doing the transfers, pushes and fetches (src/mta/).
//
// Alice sends Bob an inline text and a 3 MiB attachment: Bob's sync
// shows the message with its body, the attachment downloads from MBX2
// with its digest, and Alice's status says example.net `fetched`. Mail
// to a domain whose MBX is down stays queued and goes once it is up
// (small retry values). Mail to an unknown user fails at once and puts
// a delivery-failure notice in Alice's inbox.
// Bob's auto-forward to Bobby (SPEC §9): refused by his AS's policy, then
// allowed: MBX2 adds a hop, MBX3 receives it and fetches from MBX1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import { AsServer, freePort, makeTestEnv, SLOWDOWN } from './lib/index.mjs';
import { startDnsmasq } from './lib/dns.mjs';
import { loginWithPkce } from './lib/login.mjs';
import { MbxServer } from './lib/mbx.mjs';

const PW = 'correct horse battery';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.net';
const BOBBY = 'bobby@example.org';
const WAIT_MS = 30000 * SLOWDOWN; // valgrind: the servers get there SLOWDOWN times later

// Retries every 1-2 s, so "down, then up" is seen within the test.
const QUEUE = { initial_retry: 1, max_retry: 2, give_up_after: 3600, lease: 60, timeout: 10,
  poll_interval: 1 };

let env, dns;
const as = {};
const mbx = {};
const token = {};

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const sha = (x) => b64u(createHash('sha256').update(x).digest());
const portOf = (url) => Number(new URL(url).port);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function json(r, status) {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return text ? JSON.parse(text) : null;
}

function api(m, path, tok, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (tok) headers.authorization = `Bearer ${tok}`;
  return env.fetch(m.url(path), { ...init, headers });
}

// Polls fn until it returns a truthy value, or fails with what.
async function eventually(fn, what, ms = WAIT_MS) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const external = (size, type) => [
  `message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${size}"`, type];
const leaf = (digest, size, type, disposition) => ({ headers: [{ 'Content-Disposition': disposition },
  { 'Content-ID': `<${digest}>` }, { 'Content-Type': external(size, type) }] });

async function upload(bytes, type) {
  const r = await api(mbx.com, '/api/v1/resources', token.alice,
    { method: 'POST', body: bytes, headers: { 'content-type': type } });
  assert.ok(r.status === 201 || r.status === 200, `upload ${r.status}`);
  return (await r.json()).digest;
}

async function send(to, parts, subject = 'Vacation photo') {
  const doc = { envelope: [{ headers: [{ From: `Alice <${ALICE}>` }, { To: to }, { Subject: subject },
    { 'Content-Type': 'multipart/mixed' }] }], body: { parts } };
  const draft = await json(await api(mbx.com, '/api/v1/messages', token.alice, {
    method: 'POST', body: JSON.stringify(doc), headers: { 'content-type': 'application/json' } }), 201);
  return json(await api(mbx.com, `/api/v1/messages/${draft.id}/send`, token.alice, { method: 'POST' }), 202);
}

async function status(id) {
  return json(await api(mbx.com, `/api/v1/messages/${id}/status`, token.alice), 200);
}

const domainState = (st, domain) => st.domains.find((d) => d.domain === domain);

// Everything in a user's mailbox so far (one sync from the start).
async function sync(m, tok) {
  return json(await api(m, '/api/v1/sync', tok), 200);
}

const headerOf = (block, name) => block.find((h) => Object.keys(h)[0] === name)?.[name];
const subjectOf = (msg) => headerOf(msg.document.envelope.at(-1).headers, 'Subject');

before(async () => {
  env = await makeTestEnv('fz-fed-e2e-');
  const dnsPort = await freePort();
  const dns_server = `127.0.0.1:${dnsPort}`;
  const pairs = [['com', 'example.com'], ['net', 'example.net'], ['org', 'example.org']];
  for (const [k, domain] of pairs) {
    as[k] = await AsServer.create(env, { name: `as.${domain}`, domains: [domain], config: { dns_server } });
    mbx[k] = await MbxServer.create(env, as[k], { name: `mbx.${domain}`, domains: [domain],
      mtaClientId: `mta.${domain}`, config: { dns_server, queue: QUEUE } });
  }
  dns = await startDnsmasq({
    port: dnsPort,
    srv: pairs.flatMap(([k, domain]) => [
      [`_federizer._as._tcp.${domain}`, `as.${domain}`, portOf(as[k].issuer)],
      [`_federizer._rs._tcp.${domain}`, `mbx.${domain}`, portOf(mbx[k].baseUrl)]]),
    hosts: pairs.flatMap(([, domain]) => [`as.${domain}`, `mbx.${domain}`]),
  });
  for (const [k, user] of [['com', ALICE], ['net', BOB], ['org', BOBBY]]) {
    as[k].adminOk(['user', 'add', user], { input: `${PW}\n` });
    as[k].adminOk(['client', 'add', 'webmail', '--public', '--first-party',
      '--redirect-uri', mbx[k].url('/oauth/callback'), '--audience', mbx[k].baseUrl]);
    await mbx[k].registerMta();
  }
  await Promise.all(Object.values(as).map((s) => s.start()));
  await Promise.all(Object.values(mbx).map((s) => s.start()));
  const login = async (k, username) => (await loginWithPkce(env, as[k], {
    clientId: 'webmail', redirectUri: mbx[k].url('/oauth/callback'), username, password: PW })).access_token;
  token.alice = await login('com', ALICE);
  token.bob = await login('net', BOB);
  token.bobby = await login('org', BOBBY);
  // a mailbox exists once its user called the MBX (docs/protocol.md)
  await sync(mbx.com, token.alice);
  await sync(mbx.net, token.bob);
  await sync(mbx.org, token.bobby);
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

describe('federation end to end (SPEC §7.4-§8, §10)', () => {
  const TEXT = 'Hi Bob,\nthe photo of Venice is attached.\n';
  const PHOTO = randomBytes(3 * 1024 * 1024);

  test('alice -> bob: the body in his sync, the attachment from MBX2, status fetched', async () => {
    const textDigest = await upload(Buffer.from(TEXT), 'text/plain; charset=UTF-8');
    const photoDigest = await upload(PHOTO, 'image/png');
    const sent = await send(`Bob <${BOB}>`, [
      leaf(textDigest, Buffer.byteLength(TEXT), 'text/plain; charset=UTF-8', 'inline'),
      leaf(photoDigest, PHOTO.length, 'image/png', 'attachment; filename="Venice.png"'),
    ]);
    assert.equal(sent.recipients[0].state, 'queued');

    const msg = await eventually(async () => {
      const s = await sync(mbx.net, token.bob);
      const m = s.changed.find((c) => subjectOf(c) === 'Vacation photo');
      return m && s.inline?.[textDigest] ? { m, s } : null;
    }, "bob's sync to show the message");
    assert.equal(msg.s.inline[textDigest].text, TEXT);
    // the receipt block MBX2 put on top of what MBX1 signed
    const [receipt, assertion] = msg.m.document.envelope;
    assert.equal(headerOf(receipt.headers, 'JWT-Assertion-Digest'), `<${sha(assertion['jwt-assertion'])}>`);
    assert.match(headerOf(receipt.headers, 'Received'), /^from example\.com by example\.net; /);

    const photo = await eventually(async () => {
      const r = await api(mbx.net, `/api/v1/resources/${photoDigest}`, token.bob);
      if (r.status !== 200) {
        await r.arrayBuffer();
        return null;
      }
      return Buffer.from(await r.arrayBuffer());
    }, 'the attachment at MBX2');
    assert.equal(photo.length, PHOTO.length);
    assert.equal(sha(photo), photoDigest);
    assert.match(mbx.net.log, new RegExp(`fetched ${photoDigest} \\(${PHOTO.length} bytes\\) from example\\.com`));

    const st = await eventually(async () => {
      const s = await status(sent.id);
      return domainState(s, 'example.net')?.state === 'fetched' ? s : null;
    }, 'example.net to be fetched');
    assert.deepEqual(domainState(st, 'example.net').recipients, [BOB]);
    assert.equal(st.recallable, false);
  });

  test('a domain whose MBX is down: queued, then delivered by a retry once it is up', async () => {
    await mbx.org.stop();
    const digest = await upload(Buffer.from('Hi Bobby\n'), 'text/plain; charset=UTF-8');
    const sent = await send(`Bobby <${BOBBY}>`, [leaf(digest, 9, 'text/plain; charset=UTF-8', 'inline')],
      'While you were away');
    await eventually(async () => (await status(sent.id)).domains[0].reason, 'a failed attempt');
    await sleep(2500); // more retries, all refused by the network
    const st = await status(sent.id);
    assert.equal(domainState(st, 'example.org').state, 'queued');
    assert.match(domainState(st, 'example.org').reason, /mbx\.example\.org|connect|refused/i);

    await mbx.org.start();
    // discovery remembers the failed lookup of mbx.example.org for its
    // negative TTL (30 s, docs/protocol.md "Discovery") before it asks again
    await eventually(async () => {
      const s = await sync(mbx.org, token.bobby);
      return s.changed.find((c) => subjectOf(c) === 'While you were away');
    }, "bobby's copy after the retry", 2 * WAIT_MS);
    await eventually(async () => ['transferred', 'fetched']
      .includes(domainState(await status(sent.id), 'example.org').state), 'the transfer recorded');
  });

  test('an unknown recipient fails at once, and a notice reaches alice', async () => {
    const digest = await upload(Buffer.from('Hello?\n'), 'text/plain; charset=UTF-8');
    const sent = await send('nobody@example.net', [leaf(digest, 7, 'text/plain; charset=UTF-8', 'inline')],
      'To nobody');
    const st = await eventually(async () => {
      const s = await status(sent.id);
      return domainState(s, 'example.net')?.state === 'failed' ? s : null;
    }, 'the transfer to fail');
    assert.match(domainState(st, 'example.net').reason, /422 unknown_recipient/);

    const notice = await eventually(async () => {
      const s = await sync(mbx.com, token.alice);
      const m = s.changed.find((c) => c.folder === 'inbox' &&
        headerOf(c.document.envelope[0].headers, 'In-Reply-To') === sent.document.envelope.at(-1)
          .headers.find((h) => h['Message-ID'])['Message-ID']);
      return m ? { m, s } : null;
    }, 'the failure notice');
    const block = notice.m.document.envelope[0].headers;
    assert.equal(headerOf(block, 'From'), 'Mail Delivery System <postmaster@example.com>');
    assert.equal(headerOf(block, 'Subject'), 'Undelivered Mail Returned to Sender');
    const cid = headerOf(notice.m.document.body.parts[0].headers, 'Content-ID').slice(1, -1);
    assert.match(notice.s.inline[cid].text, /could not be delivered to the recipients at example\.net/);
    assert.match(notice.s.inline[cid].text, /unknown_recipient/);
  });
  test('forwarding (SPEC §9): denied by bob\'s AS policy, then allowed: bobby gets it from MBX1', async () => {
    // bob's rule at MBX2, through the settings API
    const rule = { enabled: true, to: BOBBY, keep_copy: false };
    assert.deepEqual(await json(await api(mbx.net, '/api/v1/settings/forwarding', token.bob, {
      method: 'PUT', body: JSON.stringify(rule), headers: { 'content-type': 'application/json' } }), 200),
    rule);

    // the AS of example.net refuses: the forward entry fails with its reason
    as.net.adminOk(['user', 'policy', BOB, '--forwarding', 'deny']);
    const d1 = await upload(Buffer.from('Not for Bobby\n'), 'text/plain; charset=UTF-8');
    const denied = await send(`Bob <${BOB}>`, [leaf(d1, 14, 'text/plain; charset=UTF-8', 'inline')],
      'Forward denied');
    const deniedMid = headerOf(denied.document.envelope.at(-1).headers, 'Message-ID');
    await eventually(async () => /forward \d+ to example\.org, attempt 1: token exchange at the own AS: .*forwarding policy of bob@example\.net does not allow forwarding.* \(failed\)/
      .test(mbx.net.log), 'the forward to fail at the AS');

    // allowed: alice -> bob -> bobby; bobby's MTA fetches from MBX1
    as.net.adminOk(['user', 'policy', BOB, '--forwarding', 'allow']);
    const TEXT2 = 'Hi Bob,\nplease pass this on.\n';
    const d2 = await upload(Buffer.from(TEXT2), 'text/plain; charset=UTF-8');
    const sent = await send(`Bob <${BOB}>`, [leaf(d2, Buffer.byteLength(TEXT2), 'text/plain; charset=UTF-8', 'inline')],
      'Forward me');
    const got = await eventually(async () => {
      const s = await sync(mbx.org, token.bobby);
      const m = s.changed.find((c) => subjectOf(c) === 'Forward me');
      return m && s.inline?.[d2] ? { m, s } : null;
    }, "bobby's sync to show the forwarded message");
    assert.equal(got.s.inline[d2].text, TEXT2);
    // [receipt by MBX3, A_1, forward hop, A_0, origin]: MBX2's receipt is gone
    const envl = got.m.document.envelope;
    assert.equal(envl.length, 5);
    const hop = envl[2].headers;
    assert.equal(headerOf(hop, 'Forwarded-From'), BOB);
    assert.equal(headerOf(hop, 'Forwarded-To'), BOBBY);
    assert.equal(headerOf(hop, 'JWT-Assertion-Digest'), `<${sha(envl[3]['jwt-assertion'])}>`);
    assert.match(headerOf(envl[0].headers, 'Received'), /^from example\.net by example\.org; /);
    assert.ok(!got.m.document.envelope.some((e) => e.headers && headerOf(e.headers, 'Forwarded-From') &&
      headerOf(e.headers, 'Message-ID') === deniedMid), 'the denied message was not forwarded');
    assert.match(mbx.org.log, new RegExp(`fetched ${d2} \\(\\d+ bytes\\) from example\\.com`));
    // MBX1 served the forward's target, which discharged the chain (fetch log, mbx_mta_fetch.c)
    assert.match(mbx.com.log, new RegExp(`serving \\S+ ${d2} to example\\.org`));
    assert.equal(domainState(await status(sent.id), 'example.org'), undefined); // not a recipient of alice's

    // keep_copy false: bob's copy is gone once forwarded
    await eventually(async () => !(await sync(mbx.net, token.bob)).changed
      .some((c) => subjectOf(c) === 'Forward me'), "bob's copy to be dropped");
    const bobbyAll = await sync(mbx.org, token.bobby);
    assert.ok(!bobbyAll.changed.some((c) => subjectOf(c) === 'Forward denied'));

    await json(await api(mbx.net, '/api/v1/settings/forwarding', token.bob, {
      method: 'PUT', body: JSON.stringify({ enabled: false, to: '', keep_copy: true }),
      headers: { 'content-type': 'application/json' } }), 200);
  });
});
