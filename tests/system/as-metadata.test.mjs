// A real `federizer as` over HTTPS, seen by independent code: discovered
// with oauth4webapi (RFC 8414), its keys read with jose, its errors in
// the RFC 6749 §5.2 shape, CORS for the webmail, key rotation picked up
// on SIGHUP, and `federizer admin` refusing every mistake clearly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { fetch as plainFetch, Agent } from 'undici';

import { AsServer, makeLookup, makeTestEnv, runFederizer, SLOWDOWN, waitFor } from './lib/index.mjs';

const WEBMAIL_ORIGIN = 'https://mbx.example.com';

let env;
let as;

before(async () => {
  env = await makeTestEnv('fz-as-metadata-');
  as = await AsServer.create(env, { name: 'as.example.com', domains: ['example.com', 'example.net'] });
  as.adminOk(['user', 'add', 'alice@example.com'], { input: 'correct horse\n' });
  as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', `${WEBMAIL_ORIGIN}/oauth/callback`, '--audience', `${WEBMAIL_ORIGIN}/`]);
  await as.start();
});

after(async () => {
  await env?.cleanup();
});

async function json(res) {
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text);
}

async function postForm(path, body, headers = {}) {
  return env.fetch(as.url(path), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
}

test('oauth4webapi discovers the AS by RFC 8414 and finds what it implements', async () => {
  const issuer = new URL(as.issuer);
  const res = await oauth.discoveryRequest(issuer, {
    algorithm: 'oauth2',
    [oauth.customFetch]: env.fetch,
  });
  const meta = await oauth.processDiscoveryResponse(issuer, res);
  assert.equal(meta.issuer, as.issuer);
  assert.equal(meta.authorization_endpoint, as.url('/authorize'));
  assert.equal(meta.token_endpoint, as.url('/token'));
  assert.equal(meta.revocation_endpoint, as.url('/revoke'));
  assert.equal(meta.jwks_uri, as.url('/jwks'));
  assert.deepEqual(meta.response_types_supported, ['code']);
  assert.deepEqual(meta.grant_types_supported, ['authorization_code', 'refresh_token',
    'urn:ietf:params:oauth:grant-type:token-exchange']);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(meta.token_endpoint_auth_methods_supported,
    ['private_key_jwt', 'client_secret_basic', 'none']);
  assert.deepEqual(meta.token_endpoint_auth_signing_alg_values_supported, ['ES256', 'RS256']);
  assert.deepEqual(meta.dpop_signing_alg_values_supported, ['ES256', 'RS256']);
  assert.deepEqual(meta.scopes_supported, ['internet_mail']);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  for (const alg of [...meta.dpop_signing_alg_values_supported,
    ...meta.token_endpoint_auth_signing_alg_values_supported]) {
    assert.ok(!/^(none|HS)/i.test(alg), `never ${alg}`);
  }
});

test('the metadata may be cached a while, and read from the browser', async () => {
  const res = await env.fetch(as.url('/.well-known/oauth-authorization-server'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('cache-control'), /max-age=\d+/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  await res.arrayBuffer();
});

test('/jwks publishes the signing key, public members only, kid = RFC 7638 thumbprint', async () => {
  const res = await env.fetch(as.url('/jwks'));
  assert.equal(res.status, 200);
  const jwks = await json(res);
  assert.equal(jwks.keys.length, 1);
  const [key] = jwks.keys;
  assert.equal(key.kty, 'EC');
  assert.equal(key.crv, 'P-256');
  assert.equal(key.alg, 'ES256');
  assert.equal(key.use, 'sig');
  assert.equal(key.d, undefined);
  assert.equal(await jose.calculateJwkThumbprint(key, 'sha256'), key.kid);
  // The key jose imports is the one admin lists as current.
  await jose.importJWK(key, 'ES256');
  const listed = as.adminOk(['keys', 'list']).trim().split('\n');
  assert.equal(listed.length, 1);
  assert.match(listed[0], new RegExp(`^${key.kid}\\tES256\\tcreated=\\S+\\tcurrent\\tpublished$`));
});

test('unknown paths and methods answer JSON errors', async () => {
  let res = await env.fetch(as.url('/nope'));
  assert.equal(res.status, 404);
  assert.equal((await json(res)).error, 'not_found');

  res = await env.fetch(as.url('/token'));
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow'), /POST/);
  assert.equal((await json(res)).error, 'invalid_request');

  res = await env.fetch(as.url('/jwks'), { method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal((await json(res)).error, 'invalid_request');
});

test('/token: unknown grant types, missing and repeated parameters', async () => {
  let res = await postForm('/token', 'grant_type=password&username=a&password=b');
  assert.equal(res.status, 400);
  let body = await json(res);
  assert.equal(body.error, 'unsupported_grant_type');
  assert.match(body.error_description, /password/);
  assert.equal(res.headers.get('cache-control'), 'no-store');

  res = await postForm('/token', 'grant_type=client_credentials');
  assert.equal((await json(res)).error, 'unsupported_grant_type');

  res = await postForm('/token', 'code=abc');
  assert.equal(res.status, 400);
  body = await json(res);
  assert.equal(body.error, 'invalid_request');
  assert.match(body.error_description, /grant_type/);

  res = await postForm('/token', 'grant_type=refresh_token&grant_type=refresh_token');
  assert.equal(res.status, 400);
  assert.equal((await json(res)).error, 'invalid_request');

  res = await env.fetch(as.url('/token'), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(res.status, 415);
  await res.arrayBuffer();
});

test('/token and /revoke speak CORS to the webmail origin only', async () => {
  const preflight = (path, origin) => env.fetch(as.url(path), {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, dpop',
    },
  });
  for (const path of ['/token', '/revoke']) {
    let res = await preflight(path, WEBMAIL_ORIGIN);
    assert.equal(res.status, 204, path);
    assert.equal(res.headers.get('access-control-allow-origin'), WEBMAIL_ORIGIN);
    assert.match(res.headers.get('access-control-allow-methods'), /POST/);
    assert.match(res.headers.get('access-control-allow-headers'), /DPoP/i);
    assert.match(res.headers.get('vary'), /Origin/);
    await res.arrayBuffer();

    res = await preflight(path, 'https://evil.example.org');
    assert.equal(res.status, 403, path);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    await res.arrayBuffer();
  }
  // The real request carries the header too, errors included.
  let res = await postForm('/token', 'grant_type=password', { origin: WEBMAIL_ORIGIN });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('access-control-allow-origin'), WEBMAIL_ORIGIN);
  assert.match(res.headers.get('access-control-expose-headers'), /DPoP-Nonce/);
  await res.arrayBuffer();
  res = await postForm('/token', 'grant_type=password', { origin: 'https://evil.example.org' });
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  await res.arrayBuffer();
});

test('TLS is verified: a client without the test CA is refused', async () => {
  const agent = new Agent({ connect: { lookup: makeLookup() } });
  await assert.rejects(plainFetch(as.url('/jwks'), { dispatcher: agent }));
  await agent.close();
});

test('keys rotate: the new key signs, the old one stays published (SIGHUP reloads)', async () => {
  const before = await json(await env.fetch(as.url('/jwks')));
  const kid = as.adminOk(['keys', 'rotate']).trim();
  assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(kid, before.keys[0].kid);
  as.signal('SIGHUP');
  let jwks;
  await waitFor(async () => {
    jwks = await json(await env.fetch(as.url('/jwks')));
    return jwks.keys.length === 2;
  }, 5000 * SLOWDOWN, 'the rotated key on /jwks');
  assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [kid, before.keys[0].kid].sort());
  const listed = as.adminOk(['keys', 'list']).trim().split('\n');
  assert.match(listed[0], new RegExp(`^${kid}\\t.*\\tcurrent\\tpublished$`));
  assert.match(listed[1], new RegExp(`^${before.keys[0].kid}\\t.*\\tretired=\\S+\\tpublished$`));
});

test('admin: users, policies and clients, listed back', () => {
  as.adminOk(['user', 'add', 'bob@EXAMPLE.NET', '--password-file', writeTemp('pw', 'hunter2hunter2\n')]);
  as.adminOk(['user', 'policy', 'bob@example.net', '--forwarding', 'allow']);
  const users = as.adminOk(['user', 'list']);
  assert.match(users, /^alice@example\.com\tforwarding=deny\tcreated=/m);
  assert.match(users, /^bob@example\.net\tforwarding=allow\tcreated=/m);

  as.adminOk(['client', 'add', 'mta', '--confidential', '--secret-file',
    writeTemp('secret', 'a-long-enough-client-secret\n'), '--sibling-of', `${WEBMAIL_ORIGIN}/`]);
  const clients = as.adminOk(['client', 'list']);
  assert.match(clients, /^mta\tconfidential\tclient_secret_basic\tsibling-of=https:\/\/mbx\.example\.com\/$/m);
  assert.match(clients, /^webmail\tpublic\tnone\tfirst-party\tredirect-uri=https:\/\/mbx\.example\.com\/oauth\/callback\taudience=/m);
  as.adminOk(['client', 'remove', 'mta']);
  as.adminOk(['user', 'remove', 'bob@example.net']);
});

// A complete configuration of five lines, for files that break it.
const BROKEN_BASE = [
  'issuer: https://as.example.com/',
  'tls: {cert: c.pem, key: k.pem}',
  'database: as.db',
  'keys: {dir: keys}',
  'domains: [example.com]',
].join('\n');

function writeTemp(name, text) {
  const p = join(as.dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

test('admin: every mistake is refused with a clear message and exit status', () => {
  const cases = [
    // [args, input, status, message]
    [['user', 'add', 'carol@example.org'], 'password1\n', 1, /domain 'example\.org' is not served/],
    [['user', 'add', 'alice@example.com'], 'password1\n', 1, /exists already/],
    [['user', 'add', 'carol@example.com'], 'short\n', 1, /shorter than 8/],
    [['user', 'add', 'carol..x@example.com'], 'password1\n', 1, /local part/],
    [['user', 'add', 'carol@example.com', '--password-file', '/nonexistent/pw'], '', 1, /no such file/],
    [['user', 'add'], '', 2, /give one ADDRESS/],
    [['user', 'add', 'carol@example.com', '--password', 'hunter2'], '', 2, /unknown option '--password'/],
    [['user', 'remove', 'nobody@example.com'], '', 1, /no user/],
    [['user', 'policy', 'alice@example.com', '--forwarding', 'maybe'], '', 2, /allow\|deny/],
    [['user', 'policy', 'nobody@example.com', '--forwarding', 'allow'], '', 1, /no user/],
    [['client', 'add', 'x', '--public', '--redirect-uri', 'http://mbx.example.com/cb'], '', 1,
      /only https, or http to 127\.0\.0\.1/],
    [['client', 'add', 'x', '--public', '--redirect-uri', 'https://mbx.example.com/cb#f'], '', 1,
      /fragment/],
    [['client', 'add', 'x', '--public'], '', 1, /needs a redirect URI/],
    [['client', 'add', 'x', '--confidential'], '', 1, /JWKS \(private_key_jwt\) or a secret/],
    [['client', 'add', 'x', '--confidential', '--jwks-file', '/nonexistent/jwks.json'], '', 1,
      /no such file/],
    [['client', 'add', 'x', '--public', '--confidential'], '', 2, /--public or --confidential/],
    [['client', 'add', 'bad id', '--public', '--redirect-uri', 'https://a.example.com/'], '', 1,
      /only letters/],
    [['client', 'add', 'webmail', '--public', '--redirect-uri', 'https://a.example.com/'], '', 1,
      /exists already/],
    [['client', 'add', 'x', '--public', '--redirect-uri', 'https://a.example.com/',
      '--audience', 'http://mbx.example.com/'], '', 1, /https URL/],
    [['client', 'remove', 'nobody'], '', 1, /no client/],
    [['keys', 'spin'], '', 2, /not a command/],
    [['user'], '', 2, /usage/],
  ];
  for (const [args, input, status, message] of cases) {
    const r = as.admin(args, { input });
    assert.equal(r.status, status, `admin ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, `admin ${args.join(' ')}`);
  }
  // A password never comes from argv: there is no option for it.
  const help = runFederizer(['admin', 'help']);
  assert.equal(help.status, 0);
  assert.doesNotMatch(help.stdout, /--password[^-]/);
  // Without -c, and with a broken config.
  let r = runFederizer(['admin', 'user', 'list']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /-c as\.yaml is required/);
  const bad = writeTemp('bad.yaml', `${BROKEN_BASE}\nacces_log: false\n`);
  r = runFederizer(['admin', '-c', bad, 'user', 'list']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml: line 6: unknown key 'acces_log'/);
  const typo = writeTemp('typo.yaml', BROKEN_BASE.replace('issuer:', 'isuer:'));
  r = runFederizer(['admin', '-c', typo, 'user', 'list']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /typo\.yaml: line 1: unknown key 'isuer' \(did you mean 'issuer'\?\)/);
});

test('federizer as refuses a broken configuration before it listens', () => {
  const bad = writeTemp('broken.yaml', `${BROKEN_BASE}\ntokens: {access_ttl: 3600}\n`);
  let r = runFederizer(['as', '-c', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /broken\.yaml: line 6: tokens\.access_ttl: must be a whole number from 1 to 900/);
  r = runFederizer(['as', '-c', '/nonexistent/as.yaml']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no such file/);
  r = runFederizer(['as']);
  assert.equal(r.status, 2);
});

test('SIGTERM stops the servers cleanly (under ASan: without a leak)', async () => {
  const other = await AsServer.create(env, { name: 'as.example.net', domains: ['example.net'] });
  await other.start();
  assert.match(other.log, /listening on 127\.0\.0\.1 port \d+/);
  for (const s of [other, as]) {
    const exit = await s.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, s.log);
    assert.match(s.log, /stopping/);
  }
});
