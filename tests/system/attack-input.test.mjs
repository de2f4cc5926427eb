// Hostile input against a real `federizer as` and `federizer mbx`
// (issue "Hardening", attack suite): CR, LF or NUL inside header values
// of a Placeholder (they would break the canonical forms of SPEC §4),
// Unicode look-alike addresses, SQL metacharacters in every text field,
// path traversal in every path parameter. Each case asserts the exact
// refusal, or that the text came back byte for byte, and that nothing
// was stored where a refusal is due.
//
// Look-alikes: addresses are RFC 5322's, ASCII (no SMTPUTF8), so a
// Cyrillic 'а' or a fullwidth '＠' makes no address at all. Such a user
// cannot be added (admin), signs nobody in, and a draft naming one as
// From or recipient is 400 invalid_document: nothing is stored, nothing
// is sent, and no look-alike can ever stand beside the real address.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';

import { AsServer, makeLookup, makeTestEnv } from './lib/index.mjs';
import { Browser, scrapeForm } from './lib/browser.mjs';
import { loginWithPkce } from './lib/login.mjs';
import { MbxServer } from './lib/mbx.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const OBRIEN = "o'brien@example.com"; // a quote is legal in a local part
const PW = 'correct horse battery';
const CYRILLIC_ALICE = 'аlice@example.com'; // U+0430
const FULLWIDTH_ALICE = 'alice＠example.com'; // U+FF20
const SQL = [
  "'; DROP TABLE messages; --",
  '" OR "1"="1',
  "1' OR '1'='1",
  "x'); DELETE FROM users; --",
  '%_\\ \' " ` ; -- /* */',
];

let env;
let as;
let mbx;
let alice;
let bob;

function api(path, token, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return env.fetch(mbx.url(path), { ...init, headers });
}

async function json(r, status) {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return text ? JSON.parse(text) : null;
}

async function accessToken(username) {
  const r = await loginWithPkce(env, as, {
    clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username, password: PW,
  });
  return r.access_token;
}

async function upload(token, bytes, type) {
  const r = await api('/api/v1/resources', token, { method: 'POST', body: bytes, headers: { 'content-type': type } });
  assert.ok(r.status === 201 || r.status === 200, `upload ${r.status}`);
  return r.json();
}

const external = (size, type) => [
  `message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${size}"`, type];
const leaf = (digest, size, type, disposition = 'inline') => ({
  headers: [{ 'Content-Disposition': disposition }, { 'Content-ID': `<${digest}>` },
    { 'Content-Type': external(size, type) }],
});

let textLeaf; // a leaf alice owns, for drafts

function doc(headers, parts = [textLeaf]) {
  return { envelope: [{ headers: [...headers, { 'Content-Type': 'multipart/mixed' }] }], body: { parts } };
}

function postDraft(token, d, type = 'application/json') {
  return api('/api/v1/messages', token, {
    method: 'POST', body: typeof d === 'string' ? d : JSON.stringify(d), headers: { 'content-type': type },
  });
}

// Every message id in the user's mailbox now (a full sync).
async function mailbox(token) {
  const s = await json(await api('/api/v1/sync', token), 200);
  return s.changed.map((m) => m.id).sort();
}

// A request with the path sent exactly as written (fetch would resolve
// "." and ".."), outside the contract checker: { status, body }.
function raw(method, path, { token, scheme = 'Bearer', body, type } = {}) {
  const u = new URL(mbx.baseUrl);
  const headers = {};
  if (token) headers.authorization = `${scheme} ${token}`;
  if (body !== undefined) {
    headers['content-type'] = type ?? 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((ok, fail) => {
    const req = httpsRequest({
      host: u.hostname, port: u.port, path, method, ca: env.pki.caPem, lookup: makeLookup(), headers,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => ok({ status: res.statusCode, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

before(async () => {
  env = await makeTestEnv('fz-attack-input-');
  as = await AsServer.create(env, { name: 'localhost' });
  mbx = await MbxServer.create(env, as, { config: { queue: { workers: 0 } } });
  for (const u of [ALICE, BOB, OBRIEN]) as.adminOk(['user', 'add', u], { input: `${PW}\n` });
  as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.baseUrl]);
  await mbx.registerMta();
  await as.start();
  await mbx.start();
  alice = await accessToken(ALICE);
  bob = await accessToken(BOB);
  await json(await api('/api/v1/sync', bob), 200);
  const text = 'hello\n';
  const r = await upload(alice, Buffer.from(text), 'text/plain; charset=UTF-8');
  textLeaf = leaf(r.digest, text.length, 'text/plain; charset=UTF-8');
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

describe('CR, LF and NUL inside header values (SPEC §4 canonical forms)', () => {
  const bad = [
    ['Subject', 'hi\r\nBcc: eve@example.net'],
    ['Subject', 'hi\nX-Injected: 1'],
    ['Subject', 'hi\rthere'],
    ['Subject', 'nul\u0000after'],
    ['To', `Bob <${BOB}>\r\nBcc: eve@example.net`],
    ['From', `Alice <${ALICE}>\r\nX: y`],
    ['X-Thread-ID', '<a@example.com>\u0000'],
  ];

  test('a draft with any of them is 400 invalid_document, and nothing is stored', async () => {
    const before = await mailbox(alice);
    for (const [name, value] of bad) {
      const headers = [{ From: `Alice <${ALICE}>` }, { To: `Bob <${BOB}>` }, { Subject: 'x' }]
        .filter((h) => Object.keys(h)[0] !== name);
      headers.push({ [name]: value });
      const r = await postDraft(alice, doc(headers));
      const body = await json(r, 400);
      assert.equal(body.error, 'invalid_document', `${name}: ${JSON.stringify(value)}`);
    }
    assert.deepEqual(await mailbox(alice), before);
  });

  test('the same in YAML, and in a leaf\'s Content-Type list', async () => {
    const before = await mailbox(alice);
    const yaml = `envelope:\n  - headers:\n      - From: Alice <${ALICE}>\n      - To: ${BOB}\n`
      + '      - Subject: "a\\r\\nBcc: eve@example.net"\n      - Content-Type: multipart/mixed\n'
      + `body:\n  parts:\n    - headers:\n        - Content-Disposition: inline\n`
      + `        - Content-ID: "${textLeaf.headers[1]['Content-ID']}"\n`
      + `        - Content-Type: ${JSON.stringify(textLeaf.headers[2]['Content-Type'])}\n`;
    let body = await json(await postDraft(alice, yaml, 'application/yaml'), 400);
    assert.equal(body.error, 'invalid_document');
    const hostileLeaf = structuredClone(textLeaf);
    hostileLeaf.headers[2]['Content-Type'][1] = 'text/plain\r\nContent-Type: text/html';
    body = await json(await postDraft(alice, doc([{ From: ALICE }, { To: BOB }], [hostileLeaf])), 400);
    assert.equal(body.error, 'invalid_document');
    assert.deepEqual(await mailbox(alice), before);
  });

  test('a peer domain\'s delivery with them is refused before anything is stored', async () => {
    const bobBefore = await mailbox(bob);
    const d = doc([{ From: 'eve@example.net' }, { To: BOB }, { Subject: 'hi\r\nBcc: x@example.com' }]);
    d.envelope.unshift({ 'jwt-assertion': 'e30.e30.sig' });
    const r = await raw('POST', '/mta/v1/messages', { token: 'e30.e30.sig', scheme: 'DPoP', body: JSON.stringify(d) });
    assert.equal(r.status, 400, r.body);
    assert.equal(JSON.parse(r.body).error, 'invalid_request');
    assert.match(JSON.parse(r.body).error_description, /control character U\+000D/);
    assert.deepEqual(await mailbox(bob), bobBefore);
  });

  test('a header name with CR, LF, NUL, a colon or a space is refused', async () => {
    for (const name of ['X-A\r\nBcc', 'X\u0000Y', 'Sub:ject', 'Sub ject']) {
      const body = await json(await postDraft(alice, doc([{ From: ALICE }, { To: BOB }, { [name]: 'v' }])), 400);
      assert.equal(body.error, 'invalid_document', JSON.stringify(name));
    }
  });

  test('a tab inside a value is folding whitespace and stays allowed', async () => {
    const d = await json(await postDraft(alice, doc([{ From: ALICE }, { To: BOB }, { Subject: 'a\tb' }])), 201);
    const back = await json(await api(`/api/v1/messages/${d.id}`, alice), 200);
    const subject = back.document.envelope[0].headers.find((h) => 'Subject' in h).Subject;
    assert.equal(subject, 'a\tb');
  });
});

describe('Unicode look-alike addresses', () => {
  async function loginPage(browser) {
    const url = new URL(as.url('/authorize'));
    url.search = new URLSearchParams({
      response_type: 'code', client_id: 'webmail', redirect_uri: mbx.url('/oauth/callback'),
      scope: 'internet_mail', state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const res = await browser.get(url.href);
    assert.equal(res.status, 200);
    return scrapeForm(await res.text());
  }

  test('alice\'s password with a Cyrillic or fullwidth look-alike signs nobody in', async () => {
    for (const username of [CYRILLIC_ALICE, FULLWIDTH_ALICE, 'ALICE@example.com ', 'alice@example.com\u200b']) {
      const browser = new Browser(env.fetch);
      const form = await loginPage(browser);
      const res = await browser.post(form.action, { ...form.fields, username, password: PW });
      assert.equal(res.status, 200, username);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /Wrong email address or password\./);
    }
  });

  test('admin refuses to add a look-alike user', () => {
    for (const u of [CYRILLIC_ALICE, FULLWIDTH_ALICE]) {
      const r = as.admin(['user', 'add', u], { input: `${PW}\n` });
      assert.equal(r.status, 1, u);
      assert.match(r.stderr, /not a valid local part|not an address/);
    }
  });

  test('a look-alike as From or as a recipient is 400 invalid_document, nothing stored', async () => {
    const before = await mailbox(alice);
    const bobBefore = await mailbox(bob);
    const cyrBob = 'bоb@example.com'; // U+043E
    for (const headers of [
      [{ From: CYRILLIC_ALICE }, { To: BOB }], [{ From: `Alice <${CYRILLIC_ALICE}>` }, { To: BOB }],
      [{ From: FULLWIDTH_ALICE }, { To: BOB }], [{ From: ALICE }, { To: cyrBob }],
      [{ From: ALICE }, { To: 'bob＠example.com' }], [{ From: ALICE }, { Cc: `Bob <${cyrBob}>` }],
      [{ From: ALICE }, { To: BOB }, { Bcc: 'bob@exаmple.com' }],
    ]) {
      const body = await json(await postDraft(alice, doc(headers)), 400);
      assert.equal(body.error, 'invalid_document', JSON.stringify(headers));
      assert.match(body.error_description, /address/);
    }
    assert.deepEqual(await mailbox(alice), before);
    assert.deepEqual(await mailbox(bob), bobBefore);
  });
});

describe('SQL metacharacters in every text field', () => {
  test('subjects, names and thread ids are stored and returned byte for byte', async () => {
    for (const s of SQL) {
      const headers = [{ From: `"${s.replace(/["\\]/g, '')}" <${ALICE}>` }, { To: BOB }, { Subject: s },
        { 'X-Custom': s }];
      const d = await json(await postDraft(alice, doc(headers)), 201);
      const back = await json(await api(`/api/v1/messages/${d.id}`, alice), 200);
      const got = Object.assign({}, ...back.document.envelope[0].headers);
      assert.equal(got.Subject, s);
      assert.equal(got['X-Custom'], s);
      assert.equal(got.From, headers[0].From);
      // replaced, then read again
      headers[2] = { Subject: `${s} (2)` };
      const put = await api(`/api/v1/messages/${d.id}`, alice, {
        method: 'PUT', body: JSON.stringify(doc(headers)), headers: { 'content-type': 'application/json' },
      });
      await json(put, 200);
      const again = await json(await api(`/api/v1/messages/${d.id}`, alice), 200);
      assert.equal(Object.assign({}, ...again.document.envelope[0].headers).Subject, `${s} (2)`);
    }
  });

  test('an address with a quote is a user like any other: signs in, receives mail', async () => {
    const obrien = await accessToken(OBRIEN);
    const before = await mailbox(obrien);
    const d = await json(await postDraft(alice, doc([{ From: ALICE }, { To: OBRIEN }, { Subject: SQL[0] }])), 201);
    await json(await api(`/api/v1/messages/${d.id}/send`, alice, { method: 'POST' }), 202);
    const after = await json(await api('/api/v1/sync', obrien), 200);
    assert.equal(after.changed.length, before.length + 1);
    const got = after.changed.find((m) => !before.includes(m.id));
    const subject = got.document.envelope.flatMap((e) => e.headers ?? []).find((h) => 'Subject' in h).Subject;
    assert.equal(subject, SQL[0]);
    // the other users' mailboxes were not touched by the quote
    assert.ok((await mailbox(bob)).length >= 0);
  });

  test('SQL in the username and password at login is a wrong password, never an error', async () => {
    for (const s of SQL) {
      const browser = new Browser(env.fetch);
      const url = new URL(as.url('/login'));
      let res = await browser.get(url.href);
      assert.equal(res.status, 200);
      const form = scrapeForm(await res.text());
      res = await browser.post(form.action, { ...form.fields, username: `${s}@example.com`, password: s });
      assert.equal(res.status, 200, s);
      assert.match(await res.text(), /Wrong email address or password\./);
      res = await browser.post(form.action, { ...form.fields, username: ALICE, password: `${PW}' OR '1'='1` });
      assert.ok(res.status === 200 || res.status === 403, `${res.status}`);
      assert.equal(res.headers.get('location'), null);
    }
  });

  test('since is 410, wait, a folder, a forwarding address 400, each with an OAuth-style error', async () => {
    for (const s of SQL) {
      // a state is opaque: one the MBX cannot read is one it cannot
      // answer, and the client syncs again from nothing (SPEC §11)
      let r = await raw('GET', `/api/v1/sync?since=${encodeURIComponent(s)}`, { token: alice });
      assert.equal(r.status, 410, `since ${s}: ${r.body}`);
      assert.equal(JSON.parse(r.body).error, 'state_too_old');
      r = await raw('GET', `/api/v1/sync?wait=${encodeURIComponent(s)}`, { token: alice });
      assert.equal(r.status, 400, `wait ${s}: ${r.body}`);
      assert.equal(JSON.parse(r.body).error, 'invalid_request');
    }
    const d = await json(await postDraft(alice, doc([{ From: ALICE }, { To: BOB }])), 201);
    for (const s of SQL) {
      const r = await raw('PATCH', `/api/v1/messages/${d.id}`, { token: alice, body: JSON.stringify({ folder: s }) });
      assert.equal(r.status, 400, `folder ${s}: ${r.body}`);
      assert.equal(JSON.parse(r.body).error, 'invalid_request');
      const f = await raw('PUT', '/api/v1/settings/forwarding', {
        token: alice, body: JSON.stringify({ enabled: true, to: s, keep_copy: true }),
      });
      assert.equal(f.status, 400, `forwarding to ${s}: ${f.body}`);
      assert.match(JSON.parse(f.body).error, /^invalid_/);
    }
    const back = await json(await api(`/api/v1/messages/${d.id}`, alice), 200);
    assert.equal(back.folder, 'drafts');
  });

  test('SQL as a message id or a digest in a path is 400 or 404, never 500', async () => {
    for (const s of SQL) {
      const p = encodeURIComponent(s);
      for (const [m, path] of [['GET', `/api/v1/messages/${p}`], ['DELETE', `/api/v1/messages/${p}`],
        ['GET', `/api/v1/messages/${p}/status`], ['POST', `/api/v1/messages/${p}/send`],
        ['GET', `/api/v1/resources/${p}`]]) {
        const r = await raw(m, path, { token: alice });
        assert.ok(r.status === 400 || r.status === 404, `${m} ${path}: ${r.status} ${r.body}`);
        assert.match(JSON.parse(r.body).error, /^(invalid_request|not_found)$/);
      }
    }
  });
});

describe('path traversal in every path parameter', () => {
  const DIGEST = 'A'.repeat(43);
  const hostile = ['..', '.', '%2e%2e', '%2E%2E', '..%2F..%2Fmbx.db', '%2e%2e%2fmbx.db', 'a%2Fb',
    '%00', 'A%00', `${'A'.repeat(42)}%00`, '..%5C..%5Cmbx.db', 'A'.repeat(44), 'A'.repeat(5000),
    '%252e%252e', '%c0%ae%c0%ae'];

  test('the webmail API answers 4xx for each', async () => {
    for (const h of hostile) {
      const paths = [
        ['GET', `/api/v1/resources/${h}`], ['HEAD', `/api/v1/resources/${h}`],
        ['GET', `/api/v1/messages/${h}`], ['PUT', `/api/v1/messages/${h}`], ['PATCH', `/api/v1/messages/${h}`],
        ['DELETE', `/api/v1/messages/${h}`], ['POST', `/api/v1/messages/${h}/send`],
        ['GET', `/api/v1/messages/${h}/status`], ['POST', `/api/v1/messages/${h}/recall`],
      ];
      for (const [m, path] of paths) {
        const body = ['PUT', 'PATCH'].includes(m) ? '{}' : undefined;
        const r = await raw(m, path, { token: alice, body });
        assert.ok(r.status >= 400 && r.status < 500, `${m} ${path}: ${r.status}`);
      }
    }
  });

  test('the MTA-facing API answers 4xx for each, before any token is looked at', async () => {
    for (const h of hostile) {
      for (const path of [`/mta/v1/resources/${h}`, `/mta/v1/messages/${h}/resources/${DIGEST}`,
        `/mta/v1/messages/%3Ca%40example.com%3E/resources/${h}`]) {
        const m = path.startsWith('/mta/v1/resources') ? 'POST' : 'PUT';
        const r = await raw(m, path, { token: 'x', scheme: 'DPoP', body: '{}' });
        assert.ok(r.status >= 400 && r.status < 500, `${m} ${path}: ${r.status}`);
      }
    }
  });

  test('static webmail paths and the AS: 4xx, never a file outside', async () => {
    for (const h of hostile) {
      const r = await raw('GET', `/assets/${h}`);
      assert.ok(r.status >= 400 && r.status < 500, `/assets/${h}: ${r.status}`);
      assert.doesNotMatch(r.body, /SQLite format/);
    }
    const u = new URL(as.issuer);
    for (const h of ['/..%2F..%2Fas.db', '/%2e%2e/as.db', '/jwks/..', '/jwks%00', `/${'A'.repeat(5000)}`]) {
      const status = await new Promise((ok, fail) => {
        const req = httpsRequest({ host: u.hostname, port: u.port, path: h, ca: env.pki.caPem, lookup: makeLookup() },
          (res) => { res.resume(); res.on('end', () => ok(res.statusCode)); });
        req.on('error', fail);
        req.end();
      });
      assert.ok(status >= 400 && status < 500, `${h}: ${status}`);
    }
  });
});
