// The API documents (api/*.yaml) against the servers: the routes the real
// binary registers are exactly the paths and methods documented, both
// ways; the rendered reference is served at /docs; and the contract
// checker that every other system test runs (lib/contract.mjs) really
// refuses what breaks the document, so a green run means something.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  AsServer, checkExamples, checkResponse, ContractError, documentedRoutes, loadSpec, makeTestEnv,
  runFederizer,
} from './lib/index.mjs';

let env;
let as;
let docsFile;
const PAGE = '<!DOCTYPE html>\n<html><head><title>Federizer AS</title></head><body>API</body></html>\n';

before(async () => {
  env = await makeTestEnv('fz-api-contract-');
  docsFile = join(env.dir, 'as.html');
  as = await AsServer.create(env, { name: 'as.example.com', config: { docs_file: docsFile } });
});

// Under ASan (FZ_BIN from a -Db_sanitize build) a leak or a runtime error
// in the /docs handler shows here.
after(async () => {
  const exit = await as?.stop();
  if (exit) {
    assert.doesNotMatch(as.log, /Sanitizer|runtime error/, as.log);
    assert.deepEqual(exit, { code: 0, signal: null }, as.log);
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
});
