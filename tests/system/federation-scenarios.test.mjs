// The seed's scenarios end to end between three domains (lib/federation.mjs:
// an AS and an MBX per domain behind a real dnsmasq, the MBXes' own MTA
// workers moving the mail). Node plays the users, and in the attacks an
// MTA whose keys were stolen.
//
//   - alice -> bob with a text body and a 3.5 MB PNG: the text is pushed
//     (MBX2 never fetches it, MBX1 never serves it), the PNG pulled, its
//     bytes identical at MBX2; bob -> alice the same way back;
//   - To and Cc in two domains plus a Bcc: one copy each, and only the
//     Bcc recipient's copy shows the Bcc;
//   - bob's auto-forward to bobby: the envelope at example.org is the
//     chain of the seed's Fig. 3, MBX3 fetched from MBX1, MBX2 nothing;
//   - 100 sends queued while bob's MBX is down, then kill -9 of the
//     sending MBX mid-way through them, restart: each of the 100 reaches
//     bob exactly once;
//   - a fetch broken by kill -9 of the origin resumes with Range;
//   - recall before the fetch: MBX2's fetch is refused (410 recalled) and
//     alice's status says recalled;
//   - a reordered and a forged forward hop presented to MBX1, and a chain
//     deeper than MBX1's limit, each refused with its exact error.
// The same transfer twice is in federation-receive.test.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';

import {
  claimsOf, domainState, eventually, headerOf, json, leaf, midOf, proof, sha, sleep, SLOWDOWN,
  startFederation, stolenMta, subjectOf,
} from './lib/federation.mjs';
import { TT_ACCESS, TT_JWT, digestHeader, exchange } from './lib/mta.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.net';
const CAROL = 'carol@example.net';
const BOBBY = 'bobby@example.org';
const TEXT_TYPE = 'text/plain; charset=UTF-8';
const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const png = (size) => Buffer.concat([PNG_SIG, randomBytes(size - PNG_SIG.length)]);

// Retries every 1-2 s; a killed worker's lease runs out within the test.
const QUEUE = { initial_retry: 1, max_retry: 2, give_up_after: 3600, lease: 11, timeout: 5,
  poll_interval: 1 };
const MAX_HOPS = 2; // MBX1's limit: a third hop is one too many

let fed, as, mbx, tok;

before(async () => {
  fed = await startFederation('fz-fed-scn-', {
    users: { com: [ALICE], net: [BOB, CAROL], org: [BOBBY] },
    queue: QUEUE,
    mbxConfig: { com: { limits: { document: { max_chain_hops: MAX_HOPS } } } },
  });
  ({ as, mbx } = fed);
  tok = {
    alice: await fed.login('com', ALICE),
    bob: await fed.login('net', BOB),
    carol: await fed.login('net', CAROL),
    bobby: await fed.login('org', BOBBY),
  };
  // a mailbox exists once its user called the MBX (docs/protocol.md)
  for (const [k, t] of [['com', tok.alice], ['net', tok.bob], ['net', tok.carol], ['org', tok.bobby]]) {
    await fed.sync(k, t);
  }
});

after(async () => {
  await fed?.stop();
});

const origin = (from, to, subject, more = []) => [{ From: from }, { To: to }, ...more, { Subject: subject },
  { 'Content-Type': 'multipart/mixed' }];

// The copy of the message called subject in k's mailbox once its inline
// text is in: { m, s } (s the whole sync).
async function arrival(k, t, subject, digest) {
  return eventually(async () => {
    const s = await fed.sync(k, t);
    const m = s.changed.find((c) => subjectOf(c) === subject);
    return m && s.inline?.[digest] ? { m, s } : null;
  }, `${subject} at ${k}`);
}

const has = (log, re) => re.test(log);
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('federation scenarios (SPEC §7-§10)', () => {
  test('alice -> bob: text pushed, a 3.5 MB PNG pulled, bytes identical', async () => {
    const TEXT = 'Hi Bob,\nthe photo of Venice is attached.\n';
    const PHOTO = png(3.5 * 1024 * 1024);
    const text = await fed.upload('com', tok.alice, Buffer.from(TEXT), TEXT_TYPE);
    const photo = await fed.upload('com', tok.alice, PHOTO, 'image/png');
    const sent = await fed.send('com', tok.alice, origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, 'Venice'), [
      leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline'),
      leaf(photo, PHOTO.length, 'image/png', 'attachment; filename="Venice.png"'),
    ]);
    const got = await arrival('net', tok.bob, 'Venice', text);
    assert.equal(got.s.inline[text].text, TEXT);
    const bytes = await eventually(() => fed.download('net', tok.bob, photo), 'the PNG at MBX2');
    assert.ok(bytes.equals(PHOTO), 'the PNG bob downloads is the one alice uploaded');
    await eventually(async () => domainState(await fed.status('com', tok.alice, sent.id), 'example.net')
      .state === 'fetched', 'example.net fetched');
    // the PNG was pulled: MBX2 fetched it, MBX1 served it
    assert.match(mbx.net.log, new RegExp(`fetched ${photo} \\(${PHOTO.length} bytes\\) from example\\.com`));
    assert.match(mbx.com.log, new RegExp(`serving ${esc(midOf(sent.document))} ${photo} to example\\.net`));
    // the text was pushed: MBX2 never fetched it and MBX1 never served it
    assert.ok(!has(mbx.net.log, new RegExp(`fetched ${text}`)), mbx.net.log);
    assert.ok(!has(mbx.com.log, new RegExp(`serving \\S+ ${text}`)), mbx.com.log);
    assert.ok(!has(mbx.com.log, new RegExp(`push of ${text}`)), 'no push failed');
  });

  test('bob -> alice: the same the other way', async () => {
    const TEXT = 'Hi Alice,\nbeautiful. Here is mine.\n';
    const PHOTO = png(300 * 1024);
    const text = await fed.upload('net', tok.bob, Buffer.from(TEXT), TEXT_TYPE);
    const photo = await fed.upload('net', tok.bob, PHOTO, 'image/png');
    const sent = await fed.send('net', tok.bob, origin(`Bob <${BOB}>`, `Alice <${ALICE}>`, 'Re: Venice'), [
      leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline'),
      leaf(photo, PHOTO.length, 'image/png', 'attachment; filename="Rome.png"'),
    ]);
    const got = await arrival('com', tok.alice, 'Re: Venice', text);
    assert.equal(got.s.inline[text].text, TEXT);
    assert.match(headerOf(got.m.document.envelope[0].headers, 'Received'), /^from example\.net by example\.com; /);
    const bytes = await eventually(() => fed.download('com', tok.alice, photo), 'the PNG at MBX1');
    assert.ok(bytes.equals(PHOTO));
    await eventually(async () => domainState(await fed.status('net', tok.bob, sent.id), 'example.com')
      .state === 'fetched', 'example.com fetched');
    assert.match(mbx.com.log, new RegExp(`fetched ${photo} \\(${PHOTO.length} bytes\\) from example\\.net`));
    assert.match(mbx.net.log, new RegExp(`serving ${esc(midOf(sent.document))} ${photo} to example\\.com`));
    assert.ok(!has(mbx.com.log, new RegExp(`fetched ${text}`)));
  });

  test('To and Cc in two domains plus a Bcc: one copy each, the Bcc only on its own copy', async () => {
    const TEXT = 'Lunch on Friday?\n';
    const text = await fed.upload('com', tok.alice, Buffer.from(TEXT), TEXT_TYPE);
    const sent = await fed.send('com', tok.alice, origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, 'Lunch',
      [{ Cc: `Bobby <${BOBBY}>` }, { Bcc: `Carol <${CAROL}>` }]),
    [leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline')]);
    const mid = midOf(sent.document);
    const copies = {};
    for (const [who, k, t] of [['bob', 'net', tok.bob], ['carol', 'net', tok.carol], ['bobby', 'org', tok.bobby]]) {
      await arrival(k, t, 'Lunch', text);
      const all = (await fed.sync(k, t)).changed.filter((c) => midOf(c.document) === mid);
      assert.equal(all.length, 1, `${who} has one copy`);
      copies[who] = all[0].document.envelope.at(-1).headers;
    }
    assert.equal(headerOf(copies.bob, 'Bcc'), undefined, 'bob does not see the Bcc');
    assert.equal(headerOf(copies.bobby, 'Bcc'), undefined, 'bobby does not see the Bcc');
    assert.match(headerOf(copies.carol, 'Bcc'), new RegExp(esc(CAROL)), 'carol sees her own Bcc');
    for (const block of Object.values(copies)) {
      assert.equal(headerOf(block, 'Cc'), `Bobby <${BOBBY}>`);
      assert.equal(headerOf(block, 'To'), `Bob <${BOB}>`);
    }
    const st = await eventually(async () => {
      const s = await fed.status('com', tok.alice, sent.id);
      return s.domains.every((d) => d.state === 'fetched') ? s : null;
    }, 'both domains fetched');
    assert.deepEqual(domainState(st, 'example.net').recipients.sort(), [BOB, CAROL]);
    assert.deepEqual(domainState(st, 'example.org').recipients, [BOBBY]);
  });

  let forwarded; // bobby's copy of the forwarded message, for the attacks

  const forwarding = (k, t, rule) => fed.api(mbx[k], '/api/v1/settings/forwarding', t, {
    method: 'PUT', body: JSON.stringify(rule), headers: { 'content-type': 'application/json' } });

  test('bob auto-forwards to bobby: the chain of Fig. 3, MBX3 fetched from MBX1, MBX2 nothing', async (t) => {
    // whatever happens, later tests mail bob without it
    t.after(() => forwarding('net', tok.bob, { enabled: false, to: '', keep_copy: true }));
    as.net.adminOk(['user', 'policy', BOB, '--forwarding', 'allow']);
    const rule = { enabled: true, to: BOBBY, keep_copy: false };
    await json(await fed.api(mbx.net, '/api/v1/settings/forwarding', tok.bob, {
      method: 'PUT', body: JSON.stringify(rule), headers: { 'content-type': 'application/json' } }), 200);
    const TEXT = 'Hi Bob,\nplease pass this on to Bobby.\n';
    const DOC = png(200 * 1024);
    const text = await fed.upload('com', tok.alice, Buffer.from(TEXT), TEXT_TYPE);
    const att = await fed.upload('com', tok.alice, DOC, 'image/png');
    const sent = await fed.send('com', tok.alice, origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, 'Pass it on'), [
      leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline'),
      leaf(att, DOC.length, 'image/png', 'attachment; filename="map.png"'),
    ]);
    const mid = midOf(sent.document);
    const got = await arrival('org', tok.bobby, 'Pass it on', text);
    assert.equal(got.s.inline[text].text, TEXT);
    const bytes = await eventually(() => fed.download('org', tok.bobby, att), 'the attachment at MBX3');
    assert.ok(bytes.equals(DOC));
    forwarded = got.m.document;

    // [receipt of MBX3, A_1, H_1 (the hop), A_0, H_0 (the origin)]
    const [receipt, a1, h1, a0, h0, ...rest] = forwarded.envelope;
    assert.equal(rest.length, 0, 'MBX2\'s receipt block is not forwarded');
    const names = (b) => b.headers.map((h) => Object.keys(h)[0]);
    assert.deepEqual(names(receipt), ['Message-ID', 'JWT-Assertion-Digest', 'Received']);
    assert.equal(headerOf(receipt.headers, 'Message-ID'), mid);
    assert.equal(headerOf(receipt.headers, 'JWT-Assertion-Digest'), `<${sha(a1['jwt-assertion'])}>`);
    assert.match(headerOf(receipt.headers, 'Received'), /^from example\.net by example\.org; /);
    // the hop block MBX2 added (SPEC §9), newest header first
    assert.deepEqual(names(h1), ['Date', 'Recipients-Digest', 'Forwarded-To', 'Forwarded-From',
      'JWT-Assertion-Digest', 'Message-ID']);
    assert.equal(headerOf(h1.headers, 'Forwarded-From'), BOB);
    assert.equal(headerOf(h1.headers, 'Forwarded-To'), BOBBY);
    assert.equal(headerOf(h1.headers, 'Recipients-Digest'), await digestHeader(`forwarded-to:${BOBBY}\r\n`));
    assert.equal(headerOf(h1.headers, 'JWT-Assertion-Digest'), `<${sha(a0['jwt-assertion'])}>`);
    assert.equal(headerOf(h1.headers, 'Message-ID'), mid);
    // A_1 by AS2 for bob, A_0 by AS1 for alice: what alice's MBX signed, unchanged
    const c1 = claimsOf(a1['jwt-assertion']);
    const c0 = claimsOf(a0['jwt-assertion']);
    assert.equal(c1.iss, as.net.issuer);
    assert.equal(c0.iss, as.com.issuer);
    assert.equal(a0['jwt-assertion'], sent.document.envelope[0]['jwt-assertion']);
    assert.deepEqual(h0, sent.document.envelope[1]);

    // MBX3 fetched both from MBX1; MBX2 fetched nothing of it
    for (const d of [text, att]) {
      assert.match(mbx.org.log, new RegExp(`fetched ${d} \\(\\d+ bytes\\) from example\\.com`));
      assert.match(mbx.com.log, new RegExp(`serving ${esc(mid)} ${d} to example\\.org`));
      assert.ok(!has(mbx.net.log, new RegExp(`fetched ${d}`)),
        `MBX2 fetched nothing:\n${mbx.net.log.split('\n').filter((l) => l.includes(d) || l.includes(mid)).join('\n')}`);
      assert.ok(!has(mbx.com.log, new RegExp(`serving ${esc(mid)} ${d} to example\\.net`)), 'MBX1 served MBX2 nothing');
    }
    await json(await forwarding('net', tok.bob, { enabled: false, to: '', keep_copy: true }), 200);
  });

  test('a same-domain delivery is forwarded too: bob -> carol, carol forwards to bobby', async (t) => {
    t.after(() => forwarding('net', tok.carol, { enabled: false, to: '', keep_copy: true }));
    as.net.adminOk(['user', 'policy', CAROL, '--forwarding', 'allow']);
    await json(await forwarding('net', tok.carol, { enabled: true, to: BOBBY, keep_copy: true }), 200);
    const TEXT = 'Carol, for Bobby too.\n';
    const text = await fed.upload('net', tok.bob, Buffer.from(TEXT), TEXT_TYPE);
    const sent = await fed.send('net', tok.bob, origin(`Bob <${BOB}>`, `Carol <${CAROL}>`, 'Next door'), [
      leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline'),
    ]);
    const mid = midOf(sent.document);
    // carol keeps her copy, bobby gets the forward, pulled from MBX2
    await arrival('net', tok.carol, 'Next door', text);
    const got = await arrival('org', tok.bobby, 'Next door', text);
    assert.equal(got.s.inline[text].text, TEXT);
    const [, a1, h1, a0] = got.m.document.envelope;
    assert.equal(headerOf(h1.headers, 'Forwarded-From'), CAROL);
    assert.equal(headerOf(h1.headers, 'Forwarded-To'), BOBBY);
    assert.equal(claimsOf(a1['jwt-assertion']).iss, as.net.issuer);
    assert.equal(a0['jwt-assertion'], sent.document.envelope[0]['jwt-assertion']);
    assert.match(mbx.net.log, new RegExp(`serving ${esc(mid)} ${text} to example\\.org`));
  });

  test('kill -9 of the sending MBX with 100 queued, mid-way: each delivered exactly once', async () => {
    const N = 100;
    const TEXT = 'One of many.\n';
    const text = await fed.upload('com', tok.alice, Buffer.from(TEXT), TEXT_TYPE);
    const mids = new Set();
    // bob's MBX down: all 100 queue at MBX1
    await mbx.net.stop();
    for (let i = 0; i < N; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => fed.send('com', tok.alice,
        origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, `Bulk ${i + j}`),
        [leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline')])));
      for (const s of batch) mids.add(midOf(s.document));
    }
    const received = () => [...mbx.net.log.matchAll(/received (<[^>]+>) from example\.com/g)]
      .filter((m) => mids.has(m[1])).length;
    assert.equal(received(), 0);
    // up again; once some went (retries, after discovery's negative TTL), MBX1 dies mid-way
    await mbx.net.start();
    await eventually(async () => received() >= 10, 'the first transfers after the outage', 60000);
    mbx.com.signal('SIGKILL');
    const killed = await mbx.com.exited;
    assert.equal(killed.signal, 'SIGKILL');
    const atKill = received();
    assert.ok(atKill < N, `killed mid-way (${atKill} of ${N} there)`);
    await mbx.com.start();
    let seen = 0;
    const copies = await eventually(async () => {
      const mine = (await fed.sync('net', tok.bob)).changed.filter((c) => mids.has(midOf(c.document)));
      seen = mine.length;
      return mine.length >= N ? mine : null;
    }, `all ${N} copies at bob`, 90000).catch((e) => {
      const tail = (log) => log.split('\n').filter((l) => /mta|mbx:/.test(l)).slice(-30).join('\n');
      throw new Error(`${e.message}: ${seen} seen\n--- MBX1 ---\n${tail(mbx.com.log)}\n--- MBX2 ---\n${tail(mbx.net.log)}`);
    });
    await sleep(3000 * SLOWDOWN); // a late duplicate would show up by now
    const again = (await fed.sync('net', tok.bob)).changed.filter((c) => mids.has(midOf(c.document)));
    const count = new Map();
    for (const c of again) count.set(midOf(c.document), (count.get(midOf(c.document)) ?? 0) + 1);
    assert.equal(copies.length, N);
    assert.equal(count.size, N);
    assert.ok([...count.values()].every((n) => n === 1), 'no Message-ID twice');
    console.log(`kill -9: ${atKill} of ${N} had reached MBX2 when MBX1 was killed`);
  });

  test('a fetch broken by kill -9 of the origin resumes with Range, bytes identical', async () => {
    const BIG = png(96 * 1024 * 1024);
    const big = await fed.upload('com', tok.alice, BIG, 'image/png');
    const text = await fed.upload('com', tok.alice, Buffer.from('Big one.\n'), TEXT_TYPE);
    await fed.send('com', tok.alice, origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, 'Big'), [
      leaf(text, 9, TEXT_TYPE, 'inline'), leaf(big, BIG.length, 'image/png', 'attachment; filename="big.png"')]);
    // MBX2's partial file, named by the digest (blob.h): kill MBX1 once some bytes are in
    const part = join(mbx.net.blobs, 'tmp', `part-${big}`);
    const size = () => { try { return statSync(part).size; } catch { return 0; } };
    await eventually(async () => size() >= 1024 * 1024, 'the download to start', 60000);
    mbx.com.signal('SIGKILL');
    await mbx.com.exited;
    const broken = size();
    assert.ok(broken > 0 && broken < BIG.length, `${broken} bytes of ${BIG.length} when MBX1 died`);
    await mbx.com.start();
    const bytes = await eventually(() => fed.download('net', tok.bob, big), 'the resumed download', 90000);
    assert.ok(bytes.equals(BIG), 'the bytes bob gets are the ones alice uploaded');
    const resumed = new RegExp(`resuming ${big} at byte (\\d+) from example\\.com`).exec(mbx.net.log);
    assert.ok(resumed, mbx.net.log.split('\n').filter((l) => l.includes(big)).join('\n'));
    const at = Number(resumed[1]);
    assert.ok(at > 0 && at < BIG.length, `resumed at ${at}`);
    assert.match(mbx.com.log, new RegExp(`serving \\S+ ${big} to example\\.net \\(bytes=${at}-\\)`));
    assert.equal(size(), 0, 'the partial file is gone');
    console.log(`resume: broken at ${broken} of ${BIG.length} bytes, resumed at ${at}`);
  });

  test('recall before the fetch: MBX2\'s fetch is refused, the status says recalled', async (t) => {
    // bob's AS down: MBX2 cannot get a fetch token, so the fetch waits
    await as.net.stop();
    t.after(async () => { // whatever happens, the attacks below need it
      if (as.net.proc.exitCode !== null || as.net.proc.signalCode !== null) await as.net.start();
    });
    const TEXT = 'Ignore this one.\n';
    const DOC = png(100 * 1024);
    const text = await fed.upload('com', tok.alice, Buffer.from(TEXT), TEXT_TYPE);
    const att = await fed.upload('com', tok.alice, DOC, 'image/png');
    const sent = await fed.send('com', tok.alice, origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, 'Oops'), [
      leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline'),
      leaf(att, DOC.length, 'image/png', 'attachment; filename="secret.png"'),
    ]);
    await eventually(async () => domainState(await fed.status('com', tok.alice, sent.id), 'example.net')
      .state === 'transferred', 'the transfer');
    await eventually(() => new RegExp(`fetch \\d+ to example\\.com, attempt \\d+: .*will retry`).test(mbx.net.log),
      'a fetch attempt that failed for want of a token');
    const r = await json(await fed.api(mbx.com, `/api/v1/messages/${sent.id}/recall`, tok.alice,
      { method: 'POST' }), 200);
    assert.equal(r.recallable, false);
    assert.equal(domainState(r, 'example.net').reason, 'recalled by the sender');
    await as.net.start();
    await eventually(() => /fetch \d+ to example\.com, attempt \d+: fetch refused: 410 recalled.*\(failed\)/
      .test(mbx.net.log), 'the fetch refused as recalled', 45000);
    assert.equal(await fed.download('net', tok.bob, att), null, 'bob never gets the attachment');
    assert.ok(!has(mbx.com.log, new RegExp(`serving \\S+ ${att}`)));
    const st = await fed.status('com', tok.alice, sent.id);
    assert.equal(st.recallable, false);
    assert.equal(domainState(st, 'example.net').state, 'failed');
    assert.equal(domainState(st, 'example.net').reason, 'recalled by the sender');
  });

  describe('attacks on the forward chain at the origin MBX (SPEC §8.3, §9)', () => {
    let thief, digest;

    // A fetch token from AS3 for the thief holding MTA3's keys.
    async function fetchToken(doc) {
      const { body, keyPair } = await exchange(fed.env, as.org, thief, {
        subject_token: doc.envelope[1]['jwt-assertion'], subject_token_type: TT_JWT,
        requested_token_type: TT_ACCESS, scope: 'internet_mail', audience: mbx.com.baseUrl,
        message_id: midOf(doc),
      });
      const publicJwk = await (await import('jose')).exportJWK(keyPair.publicKey);
      return { token: body.access_token, key: { privateKey: keyPair.privateKey, publicJwk } };
    }

    async function fetchWith(envelope, t) {
      const url = mbx.com.url(`/mta/v1/resources/${digest}`);
      const r = await fed.env.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `DPoP ${t.token}`,
          dpop: await proof(t.key, 'POST', url, t.token) },
        body: JSON.stringify({ envelope }),
      });
      const buf = Buffer.from(await r.arrayBuffer());
      return { status: r.status, buf, json: () => JSON.parse(buf.toString()) };
    }

    before(async () => {
      assert.ok(forwarded, 'the forwarding test ran');
      thief = await stolenMta(mbx.org, fed.keys.org.kid);
      digest = headerOf(forwarded.body.parts[1].headers, 'Content-ID').slice(1, -1);
    });

    test('the chain as received is served (the attacks below differ only in the chain)', async () => {
      const r = await fetchWith(forwarded.envelope, await fetchToken(forwarded));
      assert.equal(r.status, 200, r.buf.toString().slice(0, 300));
      assert.equal(sha(r.buf), digest);
    });

    test('a forged forward hop (Forwarded-To changed after signing) is refused', async () => {
      const env = structuredClone(forwarded.envelope);
      const hop = env[2].headers;
      hop[hop.findIndex((h) => h['Forwarded-To'])] = { 'Forwarded-To': 'eve@example.org' };
      let r = await fetchWith(env, await fetchToken(forwarded));
      assert.equal(r.status, 403, r.buf.toString());
      assert.equal(r.json().error, 'access_denied');
      assert.equal(r.json().error_description, 'hop 1: Recipients-Digest does not match Forwarded-To');
      // the digest made to fit: the signature over the block still does not
      hop[hop.findIndex((h) => h['Recipients-Digest'])] = {
        'Recipients-Digest': await digestHeader('forwarded-to:eve@example.org\r\n') };
      r = await fetchWith(env, await fetchToken(forwarded));
      assert.equal(r.status, 403, r.buf.toString());
      assert.equal(r.json().error, 'access_denied');
      assert.equal(r.json().error_description, 'hop 1: eht does not match the header block below the assertion');
    });

    test('reordered forward hops are refused', async () => {
      // the origin on top, the hop below it
      const [receipt, a1, h1, a0, h0] = forwarded.envelope;
      const r = await fetchWith([receipt, a0, h0, a1, h1], await fetchToken(forwarded));
      assert.equal(r.status, 403, r.buf.toString());
      assert.equal(r.json().error, 'access_denied');
      assert.equal(r.json().error_description,
        "the chain's origin assertion is not the one this message was sent with");
    });

    test('a chain deeper than the limit is refused on its way to MBX1', async () => {
      // alice -> bob -> bobby -> alice: three hops, MBX1 takes two
      as.net.adminOk(['user', 'policy', BOB, '--forwarding', 'allow']);
      as.org.adminOk(['user', 'policy', BOBBY, '--forwarding', 'allow']);
      for (const [k, t, to] of [['net', tok.bob, BOBBY], ['org', tok.bobby, ALICE]]) {
        await json(await forwarding(k, t, { enabled: true, to, keep_copy: true }), 200);
      }
      const TEXT = 'Round and round.\n';
      const text = await fed.upload('com', tok.alice, Buffer.from(TEXT), TEXT_TYPE);
      await fed.send('com', tok.alice, origin(`Alice <${ALICE}>`, `Bob <${BOB}>`, 'Loop'),
        [leaf(text, Buffer.byteLength(TEXT), TEXT_TYPE, 'inline')]);
      await eventually(() => /forward \d+ to example\.com, attempt \d+: .*\(failed\)/.test(mbx.org.log),
        'the third hop refused', 45000);
      const line = /forward \d+ to example\.com, attempt \d+: (.*) \(failed\)/.exec(mbx.org.log)[1];
      assert.equal(line, 'transfer refused: 413 invalid_request: the document: envelope[4].jwt-assertion: ' +
        `more than max_chain_hops (${MAX_HOPS}) assertions`);
      assert.ok(!(await fed.sync('com', tok.alice)).changed.some((c) => subjectOf(c) === 'Loop' &&
        c.folder === 'inbox'), 'alice did not get her own message back');
    });
  });
});
