// The Mailbox's resources and sync against a real `federizer as` and a
// real `federizer mbx` over HTTPS, the user's access token got through
// the AS's real login (Authorization Code + PKCE): a big streamed upload
// whose stored file hashes to its Content-ID while the MBX's peak memory
// stays small, dedupe, Range, ownership, bad digests, tokens refused,
// the quota with nothing left behind, a kill -9 mid-upload, drafts in
// sync with their inline bodies, and a long poll woken by a change.
//
// FZ_MBX_BIG_MIB sets the big upload's size (default 1024, the issue's
// acceptance size; lower it for a quick local run).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import * as jose from 'jose';

import { AsServer, makeFetch, makeLookup, makeTestEnv } from './lib/index.mjs';
import { loginWithPkce } from './lib/login.mjs';
import { MbxServer } from './lib/mbx.mjs';

const MIB = 1024 * 1024;
const BIG = Number(process.env.FZ_MBX_BIG_MIB ?? 1024) * MIB;
const QUOTA = BIG + 16 * MIB;
const PEAK_RSS_KIB = 64 * 1024;
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const PW = 'correct horse battery';

let env;
let as;
let mbx;
let alice; // access tokens
let bob;

// The one place a test gets a user's access token: the AS's real login.
async function accessToken(username, clientId = 'webmail') {
  const redirectUri = mbx.url('/oauth/callback');
  const r = await loginWithPkce(env, as, { clientId, redirectUri, username, password: PW });
  return r.access_token;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const digestOf = (buf) => b64u(createHash('sha256').update(buf).digest());

// Deterministic bytes, n of them, in 1 MiB chunks, hashed as they go.
function byteStream(n, seed, hash) {
  let sent = 0;
  return new ReadableStream({
    pull(ctl) {
      if (sent >= n) return ctl.close();
      const len = Math.min(MIB, n - sent);
      const chunk = Buffer.alloc(len, (sent / MIB + seed) & 0xff);
      chunk.writeUInt32BE(sent / MIB, 0);
      hash?.update(chunk);
      sent += len;
      ctl.enqueue(chunk);
    },
  });
}

// via: the fetch to use (env.fetch, or one with its own connections).
function api(path, token, init = {}, via = env.fetch) {
  const headers = { ...(init.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return via(mbx.url(path), { ...init, headers });
}

async function uploadBytes(token, body, type = 'application/octet-stream', via = env.fetch) {
  const r = await api('/api/v1/resources', token, {
    method: 'POST', body, headers: { 'content-type': type }, duplex: 'half',
  }, via);
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// Files under digest names (tmp/ aside), and files in tmp/.
function blobFiles() {
  const named = [];
  const walk = (d, depth) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (depth === 0 && e.name === 'tmp') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else named.push(p);
    }
  };
  if (existsSync(mbx.blobs)) walk(mbx.blobs, 0);
  const tmpDir = join(mbx.blobs, 'tmp');
  return { named, tmp: existsSync(tmpDir) ? readdirSync(tmpDir) : [] };
}

// GET with the path sent exactly as written (fetch would resolve "..").
function rawGet(path, token) {
  const u = new URL(mbx.baseUrl);
  return new Promise((ok, fail) => {
    const req = httpsRequest({
      host: u.hostname, port: u.port, path, method: 'GET', ca: env.pki.caPem,
      lookup: makeLookup(), headers: { authorization: `Bearer ${token}` },
    }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode));
    });
    req.on('error', fail);
    req.end();
  });
}

before(async () => {
  env = await makeTestEnv('fz-mbx-');
  // The MBX fetches the AS's keys by its issuer's host: localhost
  // resolves without a test DNS server.
  as = await AsServer.create(env, { name: 'localhost' });
  const web = join(env.dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>webmail</title>');
  writeFileSync(join(web, 'sw.js'), '// service worker');
  writeFileSync(join(web, 'assets', 'app-1a2b.js'), 'console.log(1)');
  mbx = await MbxServer.create(env, as, {
    // Two threads: waiting long polls must hold none of them.
    config: { webmail: web, limits: { quota_bytes: QUOTA, max_discard_bytes: 4 * MIB,
      threads: 2, long_poll_max_waiters: 100 } },
  });
  as.adminOk(['user', 'add', ALICE], { input: `${PW}\n` });
  as.adminOk(['user', 'add', BOB], { input: `${PW}\n` });
  as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.baseUrl]);
  as.adminOk(['client', 'add', 'elsewhere', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', 'https://other.example.com/']);
  await as.start();
  await mbx.start();
  alice = await accessToken(ALICE);
  bob = await accessToken(BOB);
});

after(async () => {
  for (const server of env?.servers ?? []) {
    const exit = await server.stop();
    assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, server.log);
  }
  await env?.cleanup();
});

describe('protected resource metadata', () => {
  test('RFC 9728 names the AS and the sibling MTA', async () => {
    const r = await env.fetch(mbx.url('/.well-known/oauth-protected-resource'));
    assert.equal(r.status, 200);
    const m = await r.json();
    assert.equal(m.resource, mbx.baseUrl);
    assert.deepEqual(m.authorization_servers, [as.issuer]);
    assert.equal(m.federizer_mta_client_id, 'mta.example.com');
  });
});

describe('webmail', () => {
  test('index.html at / and /oauth/callback, sw.js revalidated, assets immutable', async () => {
    for (const p of ['/', '/oauth/callback', '/index.html']) {
      const r = await env.fetch(mbx.url(p));
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type'), /^text\/html/);
      assert.equal(r.headers.get('cache-control'), 'no-cache');
      assert.match(await r.text(), /webmail/);
    }
    let r = await env.fetch(mbx.url('/sw.js'));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
    await r.arrayBuffer();
    r = await env.fetch(mbx.url('/assets/app-1a2b.js'));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('cache-control'), /immutable/);
    await r.arrayBuffer();
    for (const p of ['/nope.js', '/.hidden', '/..%2Fmbx.db', '/assets/..%2F..%2Fmbx.db']) {
      assert.equal(await rawGet(p, alice), 404, p);
    }
  });
});

describe('tokens', () => {
  test('missing, forged, wrong-audience tokens are 401 with a Bearer challenge', async () => {
    let r = await api('/api/v1/sync', null);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /^Bearer .*resource_metadata=/);
    await r.arrayBuffer();

    // expired, and signed by a key the AS never had
    const { privateKey } = await jose.generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new jose.SignJWT({ email: ALICE, scope: 'internet_mail', client_id: 'webmail' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'nope' })
      .setIssuer(as.issuer).setAudience(mbx.baseUrl).setSubject(ALICE)
      .setIssuedAt(now - 3600).setExpirationTime(now - 1800).sign(privateKey);
    r = await api('/api/v1/sync', forged);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
    await r.arrayBuffer();

    // a real token of the AS, for another resource server
    const other = await accessToken(ALICE, 'elsewhere');
    r = await api('/api/v1/sync', other);
    assert.equal(r.status, 401);
    assert.match(await r.text(), /aud/);
  });
});

describe('resources', () => {
  let bigDigest;

  test(`a ${BIG / MIB} MiB upload streams: right digest, whole file, small memory`, async () => {
    const hash = createHash('sha256');
    const t0 = process.hrtime.bigint();
    const r = await uploadBytes(alice, byteStream(BIG, 1, hash));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.equal(r.status, 201, JSON.stringify(r.json));
    bigDigest = b64u(hash.digest());
    assert.equal(r.json.digest, bigDigest);
    assert.equal(r.json.content_id, `<${bigDigest}>`);
    assert.equal(r.json.size, BIG);
    const file = join(mbx.blobs, bigDigest.slice(0, 2), bigDigest.slice(2, 4), bigDigest);
    assert.equal(statSync(file).size, BIG);
    // the stored bytes hash to the Content-ID
    const stored = createHash('sha256');
    const fd = readFileSync(file);
    stored.update(fd);
    assert.equal(b64u(stored.digest()), bigDigest);
    const peak = mbx.peakRssKiB();
    console.log(`# upload ${(BIG / MIB / secs).toFixed(0)} MiB/s; MBX peak RSS ${peak} KiB`);
    if (!mbx.sanitized()) assert.ok(peak < PEAK_RSS_KIB, `peak RSS ${peak} KiB`);
  });

  test('a middle slice by Range; download speed', async () => {
    const from = Math.floor(BIG / 2) + 12345;
    let r = await api(`/api/v1/resources/${bigDigest}`, alice, { headers: { range: `bytes=${from}-${from + 9999}` } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes ${from}-${from + 9999}/${BIG}`);
    const slice = Buffer.from(await r.arrayBuffer());
    assert.equal(slice.length, 10000);
    const chunk = Math.floor(from / MIB);
    assert.equal(slice[100], (chunk + 1) & 0xff);
    const t0 = process.hrtime.bigint();
    r = await api(`/api/v1/resources/${bigDigest}`, alice);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('repr-digest'), /^sha-256=:[A-Za-z0-9+/]{43}=:$/);
    const hash = createHash('sha256');
    for await (const c of r.body) hash.update(c);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`# download ${(BIG / MIB / secs).toFixed(0)} MiB/s`);
    assert.equal(b64u(hash.digest()), bigDigest);
  });

  test('the same bytes twice, or by two users, are one file', async () => {
    const bytes = Buffer.alloc(MIB, 7);
    const before = blobFiles().named.length;
    const a = await uploadBytes(alice, bytes);
    const b = await uploadBytes(alice, bytes);
    const c = await uploadBytes(bob, bytes);
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(c.status, 201);
    assert.equal(a.json.digest, digestOf(bytes));
    assert.equal(blobFiles().named.length, before + 1);
  });

  test("another user's resource is 404", async () => {
    const r = await api(`/api/v1/resources/${bigDigest}`, bob);
    assert.equal(r.status, 404);
    await r.arrayBuffer();
  });

  test('a digest path that is not 43 base64url characters is 400', async () => {
    for (const p of ['..', '..%2F..%2Fmbx.db', '%2e%2e', '%2E%2E%2Fmbx.db', 'A'.repeat(44), 'A'.repeat(42)]) {
      assert.equal(await rawGet(`/api/v1/resources/${p}`, alice), 400, p);
    }
  });

  test('over the quota: 507, and nothing is left behind', async () => {
    const before = blobFiles();
    // Alice has BIG + 1 MiB of her QUOTA; 16 MiB more crosses it while streaming.
    const r = await uploadBytes(alice, byteStream(16 * MIB, 9));
    assert.equal(r.status, 507);
    assert.equal(r.json.error, 'insufficient_storage');
    const now = blobFiles();
    assert.deepEqual(now.named.sort(), before.named.sort());
    assert.deepEqual(now.tmp, []);
  });
});

describe('drafts and sync', () => {
  const text = 'Hi Bob,\nthe photo is attached.\n';

  async function draft(token, from, via = env.fetch) {
    const up = await uploadBytes(token, Buffer.from(text), 'text/plain; charset=UTF-8', via);
    assert.ok(up.status === 201 || up.status === 200);
    const doc = {
      envelope: [{ headers: [{ From: from }, { To: 'bob@example.net' }, { Subject: 'Hello' },
        { 'Content-Type': 'multipart/mixed' }] }],
      body: { parts: [{ headers: [{ 'Content-Disposition': 'inline' }, { 'Content-ID': `<${up.json.digest}>` },
        { 'Content-Type': [`message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${Buffer.byteLength(text)}"`,
          'text/plain; charset=UTF-8'] }] }] },
    };
    const r = await api('/api/v1/messages', token, {
      method: 'POST', body: JSON.stringify(doc), headers: { 'content-type': 'application/json' },
    }, via);
    assert.equal(r.status, 201);
    return { msg: await r.json(), digest: up.json.digest };
  }

  test('a new draft shows in sync with its inline body; the next sync is empty', async () => {
    const { msg, digest } = await draft(alice, `Alice <${ALICE}>`);
    assert.equal(msg.folder, 'drafts');
    let r = await api('/api/v1/sync', alice);
    assert.equal(r.status, 200);
    const full = await r.json();
    assert.ok(full.changed.some((m) => m.id === msg.id));
    assert.equal(full.inline[digest].text, text);
    r = await api(`/api/v1/sync?since=${encodeURIComponent(full.state)}`, alice);
    const again = await r.json();
    assert.deepEqual(again.changed, []);
    assert.deepEqual(again.destroyed, []);
    assert.equal(again.state, full.state);
    r = await api('/api/v1/sync?since=1.999999', alice);
    assert.equal(r.status, 410);
    await r.arrayBuffer();
  });

  // The change is made over connections of their own, as another
  // device's would be.
  test('a long poll wakes within 1 s of a change', async () => {
    const other = makeFetch({ ca: env.pki.caPem });
    let r = await api('/api/v1/sync', bob);
    const { state } = await r.json();
    const t0 = Date.now();
    const waiting = api(`/api/v1/sync?since=${encodeURIComponent(state)}&wait=20`, bob);
    await new Promise((ok) => setTimeout(ok, 300));
    const made = Date.now();
    await draft(bob, BOB, other);
    await other.close();
    r = await waiting;
    const woke = Date.now();
    const body = await r.json();
    assert.equal(body.changed.length, 1);
    assert.ok(woke - made < 1000, `woke ${woke - made} ms after the change`);
    assert.ok(woke - t0 < 5000);
  });

  // A waiting sync is suspended and holds no thread: 8 of them on this
  // 2-thread MBX, each on its own connection, and a normal request on
  // another still answers at once.
  test('8 long polls at once hold no thread', async () => {
    let r = await api('/api/v1/sync', alice);
    const { state } = await r.json();
    const pollers = Array.from({ length: 8 }, () => makeFetch({ ca: env.pki.caPem }));
    const t0 = Date.now();
    const waits = pollers.map((f) =>
      api(`/api/v1/sync?since=${encodeURIComponent(state)}&wait=3`, alice, {}, f));
    await new Promise((ok) => setTimeout(ok, 500));
    const t1 = Date.now();
    r = await api('/api/v1/sync', bob);
    await r.arrayBuffer();
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t1 < 1000, `answered after ${Date.now() - t1} ms`);
    for (const w of await Promise.all(waits)) {
      assert.equal(w.status, 200);
      const body = await w.json();
      assert.equal(body.state, state);
      assert.equal(body.changed.length, 0);
    }
    // they did wait the whole 3 s rather than being answered at once
    assert.ok(Date.now() - t0 >= 2900, `waited ${Date.now() - t0} ms`);
    await Promise.all(pollers.map((f) => f.close()));
  });
});

describe('crash safety', () => {
  test('kill -9 during an upload leaves no half file under a digest name', async () => {
    const before = blobFiles().named.sort();
    let sent = 0;
    let release;
    const killed = new Promise((ok) => { release = ok; });
    // 8 MiB, then it stalls mid-upload until the server is gone.
    const slow = new ReadableStream({
      async pull(c) {
        if (sent >= 8 * MIB) {
          await killed;
          c.error(new Error('server killed'));
          return;
        }
        sent += MIB;
        c.enqueue(Buffer.alloc(MIB, 3));
      },
    });
    const pending = uploadBytes(alice, slow).catch(() => null);
    while (sent < 8 * MIB) await new Promise((ok) => setTimeout(ok, 50));
    await new Promise((ok) => setTimeout(ok, 300));
    mbx.signal('SIGKILL');
    await mbx.exited;
    release();
    await pending;
    const after = blobFiles();
    assert.deepEqual(after.named.sort(), before);
    // the cut-off upload: without a name (O_TMPFILE) it went with the
    // process; where the filesystem has no O_TMPFILE it is under a temp
    // name, which the restart removes
    assert.ok(after.tmp.length <= 1, `tmp/ holds ${after.tmp}`);
    await mbx.start();
    if (after.tmp.length === 1) assert.match(mbx.log, /removed 1 unfinished upload/);
    assert.deepEqual(blobFiles().tmp, []);
    const r = await api('/api/v1/sync', alice);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });
});
