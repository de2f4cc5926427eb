// The API documents (api/*.yaml) against the servers: the routes the real
// binaries register (`federizer as|mbx --print-routes`) are exactly the
// paths and methods documented, both ways; the rendered references are
// served at the AS's /docs and the MBX's /api/docs; answers no other test
// reaches are checked here; and the contract checker that every other
// system test runs (lib/contract.mjs) really refuses what breaks the
// documents, so a green run means something.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  AsServer, checkExamples, checkResponse, ContractError, documentedRoutes, loadSpec, makeTestEnv,
  MbxServer, runFederizer,
} from './lib/index.mjs';
import { loginWithPkce } from './lib/login.mjs';

let env;
let as;
let docsFile;
const PAGE = '<!DOCTYPE html>\n<html><head><title>Federizer AS</title></head><body>API</body></html>\n';
const MBX_PAGE = '<!DOCTYPE html>\n<html><head><title>Federizer Mailbox</title></head><body>API</body></html>\n';
const ALICE = 'alice@example.com';
const PW = 'correct horse battery';

// The MBX's own AS: the MBX fetches its keys by the issuer's host, and
// localhost resolves without a test DNS server. Both start in before().
let asLocal;
let mbx;
let mbxDocs;
let alice; // an access token for the MBX

before(async () => {
  env = await makeTestEnv('fz-api-contract-');
  docsFile = join(env.dir, 'as.html');
  as = await AsServer.create(env, { name: 'as.example.com', config: { docs_file: docsFile } });

  asLocal = await AsServer.create(env, { name: 'localhost' });
  const web = join(env.dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>webmail</title>');
  writeFileSync(join(web, 'assets', 'app-1a2b.js'), 'console.log(1)');
  mbxDocs = join(env.dir, 'mbx.html');
  mbx = await MbxServer.create(env, asLocal, { config: { webmail: web, docs_file: mbxDocs } });
  asLocal.adminOk(['user', 'add', ALICE], { input: `${PW}\n` });
  asLocal.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.baseUrl]);
  await asLocal.start();
  await mbx.start();
  alice = (await loginWithPkce(env, asLocal, {
    clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username: ALICE, password: PW,
  })).access_token;
});

// Under ASan (FZ_BIN from a -Db_sanitize build) a leak or a runtime error
// in the /docs handlers shows here.
after(async () => {
  for (const server of env?.servers ?? []) {
    const exit = await server.stop();
    if (exit) {
      assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
      assert.deepEqual(exit, { code: 0, signal: null }, server.log);
    }
  }
  await env?.cleanup();
});

describe('routes: the binary and api/as.yaml list the same ones', () => {
  test('`federizer as --print-routes` equals the documented paths and methods, both ways', () => {
    const r = runFederizer(['as', '-c', as.configFile, '--print-routes']);
    assert.equal(r.status, 0, r.stderr);
    const served = r.stdout.trim().split('\n').sort();
    const documented = documentedRoutes(loadSpec('as')).sort();
    const undocumented = served.filter((x) => !documented.includes(x));
    const unserved = documented.filter((x) => !served.includes(x));
    assert.deepEqual(undocumented, [], 'served but not in api/as.yaml');
    assert.deepEqual(unserved, [], 'in api/as.yaml but not served');
    assert.ok(served.includes('POST /token') && served.includes('GET /docs'), served.join('\n'));
  });

  test('--print-routes opens nothing: no database, no key is created', () => {
    const cfg = join(env.dir, 'routes-only.yaml');
    writeFileSync(cfg, [
      'issuer: https://as.example.org/',
      'tls: {cert: nowhere.pem, key: nowhere.key}',
      `database: ${join(env.dir, 'never.db')}`,
      `keys: {dir: ${join(env.dir, 'never-keys')}}`,
      'domains: [example.org]',
    ].join('\n'));
    const r = runFederizer(['as', '-c', cfg, '--print-routes']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^GET \/jwks$/m);
    assert.equal(runFederizer(['as', '-c', cfg, '--print-routes', 'extra']).status, 2);
    assert.throws(() => rmSync(join(env.dir, 'never.db')), /ENOENT/);
  });
});

describe('/docs serves the rendered reference', () => {
  test('the configured file, then 404 once it is gone', async () => {
    writeFileSync(docsFile, PAGE);
    await as.start();
    let res = await env.fetch(as.url('/docs'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(await res.text(), PAGE);

    res = await env.fetch(as.url('/docs'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');

    rmSync(docsFile);
    res = await env.fetch(as.url('/docs'));
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'not_found', error_description: 'no API reference is served here' });
    assert.doesNotMatch(as.log.split('\n').filter((l) => !l.includes('docs_file')).join('\n'), new RegExp(env.dir),
      'the file name goes to the log line about docs_file only');
  });
});

describe('answers no other test reaches, checked against the document', () => {
  const form = (path, body, headers = {}) => env.fetch(as.url(path), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body,
  });

  test('401 invalid_client with a Basic challenge, at /token and /revoke', async () => {
    const basic = `Basic ${Buffer.from('nobody:not-a-secret').toString('base64')}`;
    for (const [path, realm] of [['/token', 'token'], ['/revoke', 'revoke']]) {
      const res = await form(path, 'grant_type=refresh_token&refresh_token=x&token=x', { authorization: basic });
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get('www-authenticate'), `Basic realm="${realm}"`);
      assert.equal((await res.json()).error, 'invalid_client');
    }
  });

  test('413 for a body over limits.max_body_bytes, 415 for a body that is not a form', async () => {
    let res = await form('/token', `grant_type=refresh_token&refresh_token=${'x'.repeat(70000)}`);
    assert.equal(res.status, 413);
    await res.arrayBuffer();
    res = await env.fetch(as.url('/revoke'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'token=x' });
    assert.equal(res.status, 415);
    await res.arrayBuffer();
  });

  test('400 pages: a login without a password, a consent post that is no form', async () => {
    const login = await env.fetch(as.url('/login'));
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(await login.text())[1];
    const cookie = login.headers.getSetCookie()[0].split(';')[0];
    let res = await form('/login', new URLSearchParams({ csrf_token: csrf, username: 'a@example.com' }).toString(),
      { cookie });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Enter your email address and password/);
    res = await env.fetch(as.url('/authorize'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    await res.arrayBuffer();
  });
});

describe('routes: the binary and api/mbx.yaml list the same ones', () => {
  const WEBMAIL = ['GET /', 'GET /oauth/callback', 'GET /{file}', 'GET /assets/{file}'];

  test('`federizer mbx --print-routes` equals the documented paths and methods, both ways', () => {
    const r = runFederizer(['mbx', '-c', mbx.configFile, '--print-routes']);
    assert.equal(r.status, 0, r.stderr);
    const served = r.stdout.trim().split('\n').sort();
    const documented = documentedRoutes(loadSpec('mbx')).sort();
    const undocumented = served.filter((x) => !documented.includes(x));
    const unserved = documented.filter((x) => !served.includes(x));
    assert.deepEqual(undocumented, [], 'served but not in api/mbx.yaml');
    assert.deepEqual(unserved, [], 'in api/mbx.yaml but not served');
    for (const x of ['POST /mta/v1/messages', 'GET /api/docs', ...WEBMAIL]) assert.ok(served.includes(x), x);
  });

  test('--print-routes opens nothing; without webmail the four webmail routes go', () => {
    const cfg = join(env.dir, 'mbx-routes-only.yaml');
    writeFileSync(cfg, [
      'base_url: https://mbx.example.org/',
      'tls: {cert: nowhere.pem, key: nowhere.key}',
      `database: ${join(env.dir, 'never-mbx.db')}`,
      `blobs: ${join(env.dir, 'never-blobs')}`,
      'domains: [example.org]',
      'authorization_server: https://as.example.org/',
      'mta: {client_id: mta.example.org}',
    ].join('\n'));
    const r = runFederizer(['mbx', '-c', cfg, '--print-routes']);
    assert.equal(r.status, 0, r.stderr);
    const served = r.stdout.trim().split('\n');
    assert.deepEqual(documentedRoutes(loadSpec('mbx')).filter((x) => !served.includes(x)).sort(),
      [...WEBMAIL].sort());
    assert.equal(runFederizer(['mbx', '-c', cfg, '--print-routes', 'extra']).status, 2);
    assert.equal(existsSync(join(env.dir, 'never-mbx.db')), false);
    assert.equal(existsSync(join(env.dir, 'never-blobs')), false);
  });
});

describe('/api/docs serves the MBX\'s rendered reference', () => {
  test('the configured file, then 404 once it is gone', async () => {
    writeFileSync(mbxDocs, MBX_PAGE);
    let res = await env.fetch(mbx.url('/api/docs'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(await res.text(), MBX_PAGE);

    res = await env.fetch(mbx.url('/api/docs'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');

    rmSync(mbxDocs);
    res = await env.fetch(mbx.url('/api/docs'));
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'not_found', error_description: 'no API reference is served here' });
  });
});

// Each answer below passes env.fetch's check against api/mbx.yaml (it
// would reject the fetch otherwise); the asserts say which answer it was.
describe('MBX answers no other test reaches, checked against the document', () => {
  const api = (path, init = {}, token = alice) => env.fetch(mbx.url(path), {
    ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
  const jsonBody = (body, method = 'POST') => ({
    method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
  });
  const text = 'Hello Bob,\nthe photo from Venice.\n- Alice\n';
  let digest;
  let id;

  async function status(res, want) {
    const body = await res.text();
    assert.equal(res.status, want, body);
    return body && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(body) : body;
  }

  const draft = (from = `Alice <${ALICE}>`) => ({
    envelope: [{ headers: [{ From: from }, { To: 'bob@example.net' }, { Subject: 'Hi' },
      { 'Content-Type': 'multipart/mixed' }] }],
    body: { parts: [{ headers: [{ 'Content-Disposition': 'inline' }, { 'Content-ID': `<${digest}>` },
      { 'Content-Type': [`message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${Buffer.byteLength(text)}"`,
        'text/plain; charset=UTF-8'] }] }] },
  });

  test('resources: HEAD, 304, 416, a malformed Range and Content-Type', async () => {
    const up = await status(await api('/api/v1/resources', {
      method: 'POST', body: text, headers: { 'content-type': 'text/plain; charset=UTF-8' },
    }), 201);
    digest = up.digest;
    const path = `/api/v1/resources/${digest}`;
    let res = await api(path, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)));
    await status(await api(path, { headers: { 'if-none-match': `"${digest}"` } }), 304);
    res = await api(path, { headers: { range: 'bytes=1000-' } });
    assert.equal(res.headers.get('content-range'), `bytes */${Buffer.byteLength(text)}`);
    await status(res, 416);
    await status(await api(path, { headers: { range: 'lines=1-2' } }), 400);
    await status(await api('/api/v1/resources', {
      method: 'POST', body: 'x', headers: { 'content-type': 'not a type' },
    }), 400);
  });

  test('drafts: created, read as YAML, replaced, patched, trashed, destroyed', async () => {
    const created = await status(await api('/api/v1/messages', jsonBody(draft())), 201);
    id = created.id;
    const yaml = await status(await api(`/api/v1/messages/${id}`, { headers: { accept: 'application/yaml' } }), 200);
    assert.match(yaml, /Subject: Hi/);
    await status(await api(`/api/v1/messages/${id}`, jsonBody(draft(), 'PUT')), 200);
    const patched = await status(await api(`/api/v1/messages/${id}`,
      jsonBody({ flags: { flagged: true } }, 'PATCH')), 200);
    assert.equal(patched.flags.flagged, true);
    await status(await api(`/api/v1/messages/${id}`, jsonBody({ folder: 'archive' }, 'PATCH')), 400);
    await status(await api(`/api/v1/messages/${id}`, { method: 'PATCH', body: '{}', headers: { 'content-type': 'text/plain' } }), 415);
    await status(await api(`/api/v1/messages/${id}`, { method: 'DELETE' }), 204);
    await status(await api(`/api/v1/messages/${id}`, { method: 'DELETE' }), 204);
    await status(await api(`/api/v1/messages/${id}`), 404);
  });

  test('drafts refused: another From, not a document, not JSON or YAML', async () => {
    const refused = await status(await api('/api/v1/messages', jsonBody(draft('mallory@example.com'))), 403);
    assert.equal(refused.error, 'access_denied');
    const bad = await status(await api('/api/v1/messages', jsonBody({ envelope: [] })), 400);
    assert.equal(bad.error, 'invalid_document');
    await status(await api('/api/v1/messages', { method: 'POST', body: '<p>', headers: { 'content-type': 'text/html' } }), 415);
  });

  test('sending without mta.key is 503; sync wait that is no number is 400', async () => {
    const { id: d } = await status(await api('/api/v1/messages', jsonBody(draft())), 201);
    const r = await status(await api(`/api/v1/messages/${d}/send`, { method: 'POST' }), 503);
    assert.equal(r.error, 'temporarily_unavailable');
    await status(await api('/api/v1/sync?since=1.1&wait=soon'), 400);
  });

  test('the forwarding rule: default, set, refused', async () => {
    assert.deepEqual(await status(await api('/api/v1/settings/forwarding'), 200),
      { enabled: false, to: '', keep_copy: true });
    const rule = { enabled: true, to: 'carol@example.net', keep_copy: false };
    assert.deepEqual(await status(await api('/api/v1/settings/forwarding', jsonBody(rule, 'PUT')), 200), rule);
    await status(await api('/api/v1/settings/forwarding', jsonBody({ ...rule, to: ALICE }, 'PUT')), 400);
  });

  test('tokens: another scheme, a repeated header; and the DPoP side without DPoP', async () => {
    let res = await api('/api/v1/sync', { headers: { authorization: 'Basic YTpi' } }, null);
    assert.match(res.headers.get('www-authenticate'), /^Bearer error="invalid_request"/);
    await status(res, 401);
    res = await env.fetch(mbx.url('/mta/v1/messages'), jsonBody({ envelope: [] }));
    await status(res, 400);
    res = await env.fetch(mbx.url('/mta/v1/messages'), { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    await status(res, 415);
    res = await env.fetch(mbx.url(`/mta/v1/resources/${digest}`), jsonBody({ envelope: [{ headers: [] }] }));
    assert.match(res.headers.get('www-authenticate'), /^DPoP error="invalid_token"/);
    await status(res, 401);
    await status(await env.fetch(mbx.url('/mta/v1/resources/nope'), jsonBody({ envelope: [] })), 400);
  });

  test('unrouted: an unknown path 404, a known path with another method 405', async () => {
    await status(await env.fetch(mbx.url('/api/v2/nothing')), 404);
    const res = await api('/api/v1/sync', { method: 'DELETE' });
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    await status(res, 405);
    await status(await env.fetch(mbx.url('/nothing.js')), 404);
  });
});

test('every response example in api/*.yaml passes the checks (example tokens\' claims included)', () => {
  for (const name of ['as', 'mbx']) assert.deepEqual(checkExamples(name), [], name);
});

describe('the contract checker refuses what breaks the document', () => {
  const spec = () => loadSpec('as');
  const json = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  const refused = (fn, message) => assert.throws(fn, (e) => e instanceof ContractError && message.test(e.message));

  test('an undocumented status, path or method', () => {
    refused(() => checkResponse(spec(), 'GET', '/jwks', 201, {}, ''), /GET \/jwks: status 201 is not documented/);
    refused(() => checkResponse(spec(), 'GET', '/nope', 200, {}, ''), /no such path.*status 200 is not documented/);
    refused(() => checkResponse(spec(), 'DELETE', '/jwks', 404, json, ''), /has no DELETE.*status 404/);
    // ... while the documented answers to them pass.
    checkResponse(spec(), 'GET', '/nope', 404, json, '{"error":"not_found","error_description":"x"}');
    checkResponse(spec(), 'DELETE', 'https://as.example.com/jwks', 405, { ...json, allow: 'GET, HEAD' },
      '{"error":"invalid_request","error_description":"DELETE not allowed here"}');
  });

  test('a required header missing, or a header breaking its schema', () => {
    refused(() => checkResponse(spec(), 'DELETE', '/jwks', 405, json,
      '{"error":"invalid_request","error_description":"x"}'), /required header Allow is missing/);
    refused(() => checkResponse(spec(), 'POST', '/token', 400, { 'content-type': 'application/json' },
      '{"error":"invalid_request","error_description":"x"}'), /required header Cache-Control is missing/);
    refused(() => checkResponse(spec(), 'GET', '/jwks', 200,
      { 'content-type': 'application/json', 'cache-control': 'max-age=3600', 'access-control-allow-origin': '*' },
      '{"keys":[]}'), /header Cache-Control: "max-age=3600" must be equal to constant/);
  });

  test('a body that breaks its schema, or an undocumented media type', () => {
    refused(() => checkResponse(spec(), 'POST', '/token', 400, json,
      '{"error":"invalid_token","error_description":"x"}'), /\/error must be equal to one of the allowed values/);
    refused(() => checkResponse(spec(), 'POST', '/token', 400, json, '{"error":"invalid_request"}'),
      /must have required property 'error_description'/);
    refused(() => checkResponse(spec(), 'POST', '/token', 400, { ...json, 'content-type': 'text/html' }, '<p>'),
      /Content-Type "text\/html" is not documented/);
    refused(() => checkResponse(spec(), 'POST', '/revoke', 200, { 'content-type': 'application/json' }, '{}'),
      /a body \(application\/json\) where none is documented/);
  });

  test('a token whose JWT claims break the documented claims', () => {
    const jwt = (claims) => ['{"alg":"ES256"}', JSON.stringify(claims), 'sig']
      .map((p, i) => (i < 2 ? Buffer.from(p).toString('base64url') : p)).join('.');
    const assertion = {
      iss: 'https://as.example.com/', sub: 'alice@example.com', azp: 'mta.example.com', scope: 'internet_mail',
      iat: 1, exp: 2, jti: 'JXD93Rhx4J-VLfQU8ryIKA', cnf: { jkt: 'sup3vqO61eoHjjO4PVa4eQMfxLLIlwJ6NuAwtT-yagQ' },
      eh: { eht: '8UEAkC67yWAYimJzfxVX52wHc8GPxAH2YvVthi5ZaII', ehl: ['Message-ID', 'From', 'Recipients-Digest', 'Body-Digest'] },
    };
    const body = (claims) => JSON.stringify({
      access_token: jwt(claims), issued_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_type: 'N_A', expires_in: 432000, scope: 'internet_mail',
    });
    checkResponse(spec(), 'POST', '/token', 200, json, body(assertion));
    // The seed's misspelt claim, and a claim outside eh: refused.
    const { eh, ...rest } = assertion;
    refused(() => checkResponse(spec(), 'POST', '/token', 200, json,
      body({ ...rest, eht: eh.eht, eh1: eh.ehl })), /nearest, AssertionResponse: .*decoded as application\/jwt/);
  });

  test('api/mbx.yaml: a state the server never sends, a 401 without its challenge', () => {
    const mbxSpec = loadSpec('mbx');
    const status = (state) => JSON.stringify({ id: 'Xk4pQz8vR2mN7tLw1bY9cA', recallable: false,
      domains: [{ domain: 'example.net', recipients: ['carol@example.net'], state, updated: '2024-12-22T18:49:35Z' }] });
    checkResponse(mbxSpec, 'GET', '/api/v1/messages/Xk4pQz8vR2mN7tLw1bY9cA/status', 200, json, status('fetched'));
    refused(() => checkResponse(mbxSpec, 'GET', '/api/v1/messages/Xk4pQz8vR2mN7tLw1bY9cA/status', 200, json,
      status('sent')), /\/domains\/0\/state must be equal to one of the allowed values/);
    refused(() => checkResponse(mbxSpec, 'GET', '/api/v1/sync', 401, json,
      '{"error":"invalid_token","error_description":"x"}'), /required header WWW-Authenticate is missing/);
  });
});
