// A small Internet for federation tests: one `federizer as` and one
// `federizer mbx` per domain (example.com, example.net, example.org),
// found by each other through a real dnsmasq, the MBXes' own MTA
// workers doing transfers, pushes, fetches and forwards. Node plays only
// the users (and, where a test says so, an attacker holding an MTA's
// keys).
//
//   const fed = await startFederation('fz-fed-x-', {
//     users: { com: ['alice@example.com'], net: ['bob@example.net'] },
//     queue: { initial_retry: 1 }, mbxConfig: { com: { limits: {...} } } });
//   const sent = await fed.send('com', fed.token['alice@example.com'], doc);
//   await fed.stop();
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

import { AsServer, freePort, makeTestEnv, SLOWDOWN } from './federizer.mjs';
import { startDnsmasq } from './dns.mjs';
import { loginWithPkce } from './login.mjs';
import { MbxServer } from './mbx.mjs';

export { SLOWDOWN } from './federizer.mjs';

export const PW = 'correct horse battery';
export const DOMAINS = { com: 'example.com', net: 'example.net', org: 'example.org' };

export const b64u = (buf) => Buffer.from(buf).toString('base64url');
export const sha = (x) => b64u(createHash('sha256').update(x).digest());
export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const portOf = (url) => Number(new URL(url).port);

export async function json(r, status) {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return text ? JSON.parse(text) : null;
}

// Polls fn until it returns a truthy value, or fails with what. ms is
// the patience at native speed: under valgrind the servers take SLOWDOWN
// times as long to get there.
export async function eventually(fn, what, ms = 30000) {
  const end = Date.now() + ms * SLOWDOWN;
  while (Date.now() < end) {
    const last = await fn();
    if (last) return last;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const external = (size, type) => [
  `message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${size}"`, type];
export const leaf = (digest, size, type, disposition) => ({ headers: [{ 'Content-Disposition': disposition },
  { 'Content-ID': `<${digest}>` }, { 'Content-Type': external(size, type) }] });
export const headerOf = (block, name) => block.find((h) => Object.keys(h)[0] === name)?.[name];
export const subjectOf = (msg) => headerOf(msg.document.envelope.at(-1).headers, 'Subject');
export const midOf = (doc) => headerOf(doc.envelope.at(-1).headers, 'Message-ID');
export const domainState = (st, domain) => st.domains.find((d) => d.domain === domain);

// users: { com: [addresses], ... }; queue: the MBXes' queue settings;
// mbxConfig, asConfig: { com: {...} } merged over one server's
// configuration; only: the keys of DOMAINS to start (all by default);
// startDns: what starts the DNS server, given { port, srv, hosts }
// (startDnsmasq by default; lib/fault-dns.mjs has one that can be
// killed and restarted). The returned fed keeps that spec as dnsSpec.
export async function startFederation(prefix, { users = {}, queue = {}, mbxConfig = {},
  asConfig = {}, only = Object.keys(DOMAINS), startDns = startDnsmasq } = {}) {
  const env = await makeTestEnv(prefix);
  const dnsPort = await freePort();
  const dns_server = `127.0.0.1:${dnsPort}`;
  const as = {};
  const mbx = {};
  const token = {};
  const keys = {};
  const started = Object.entries(DOMAINS).filter(([k]) => only.includes(k));
  for (const [k, domain] of started) {
    as[k] = await AsServer.create(env, { name: `as.${domain}`, domains: [domain],
      config: { dns_server, ...(asConfig[k] ?? {}) } });
    mbx[k] = await MbxServer.create(env, as[k], { name: `mbx.${domain}`, domains: [domain],
      mtaClientId: `mta.${domain}`, config: { dns_server, queue, ...(mbxConfig[k] ?? {}) } });
  }
  const dnsSpec = {
    port: dnsPort,
    srv: started.flatMap(([k, domain]) => [
      [`_federizer._as._tcp.${domain}`, `as.${domain}`, portOf(as[k].issuer)],
      [`_federizer._rs._tcp.${domain}`, `mbx.${domain}`, portOf(mbx[k].baseUrl)]]),
    hosts: started.flatMap(([, domain]) => [`as.${domain}`, `mbx.${domain}`]),
  };
  const dns = await startDns(dnsSpec);
  for (const [k] of started) {
    for (const user of users[k] ?? []) as[k].adminOk(['user', 'add', user], { input: `${PW}\n` });
    as[k].adminOk(['client', 'add', 'webmail', '--public', '--first-party',
      '--redirect-uri', mbx[k].url('/oauth/callback'), '--audience', mbx[k].baseUrl]);
    keys[k] = await mbx[k].registerMta();
  }
  await Promise.all(Object.values(as).map((s) => s.start()));
  await Promise.all(Object.values(mbx).map((s) => s.start()));
  const fed = { env, dns, dnsSpec, as, mbx, token, keys };

  fed.api = (m, path, tok, init = {}) => {
    const headers = { ...(init.headers ?? {}) };
    if (tok) headers.authorization = `Bearer ${tok}`;
    return env.fetch(m.url(path), { ...init, headers });
  };
  fed.login = async (k, user) => {
    token[user] = (await loginWithPkce(env, as[k], { clientId: 'webmail',
      redirectUri: mbx[k].url('/oauth/callback'), username: user, password: PW })).access_token;
    return token[user];
  };
  fed.upload = async (k, tok, bytes, type) => {
    const r = await fed.api(mbx[k], '/api/v1/resources', tok,
      { method: 'POST', body: bytes, headers: { 'content-type': type } });
    const text = await r.text();
    assert.ok(r.status === 201 || r.status === 200, `upload ${r.status} ${text}`);
    return JSON.parse(text).digest;
  };
  // A draft of block (the origin headers but Date and digests) and parts, sent.
  fed.send = async (k, tok, block, parts) => {
    const doc = { envelope: [{ headers: block }], body: { parts } };
    const draft = await json(await fed.api(mbx[k], '/api/v1/messages', tok, {
      method: 'POST', body: JSON.stringify(doc), headers: { 'content-type': 'application/json' } }), 201);
    return json(await fed.api(mbx[k], `/api/v1/messages/${draft.id}/send`, tok, { method: 'POST' }), 202);
  };
  fed.status = async (k, tok, id) => json(await fed.api(mbx[k], `/api/v1/messages/${id}/status`, tok), 200);
  // Every message of the mailbox: a sync from the start, page after page.
  fed.sync = async (k, tok) => {
    const all = { changed: [], inline: {} };
    let since = null;
    for (;;) {
      const q = since ? `?since=${encodeURIComponent(since)}` : '';
      const s = await json(await fed.api(mbx[k], `/api/v1/sync${q}`, tok), 200);
      all.changed.push(...s.changed);
      Object.assign(all.inline, s.inline ?? {});
      if (!s.more) return all;
      since = s.state;
    }
  };
  // The bytes of a resource once the MBX has them (null until then).
  fed.download = async (k, tok, digest) => {
    const r = await fed.api(mbx[k], `/api/v1/resources/${digest}`, tok);
    const buf = Buffer.from(await r.arrayBuffer());
    return r.status === 200 ? buf : null;
  };
  fed.stop = async () => {
    for (const server of env.servers) {
      const exit = await server.stop();
      assert.doesNotMatch(server.log, /Sanitizer|runtime error/, server.log);
      if (exit && !server.killed) assert.deepEqual(exit, { code: 0, signal: null }, server.log);
    }
    await env.cleanup();
    await dns.stop();
  };
  return fed;
}

// The MTA of mbx as an attacker who stole its files would drive it: its
// private_key_jwt key and its DPoP key ({ privateKey, publicJwk }).
export async function stolenMta(mbx, kid) {
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

// A DPoP proof (RFC 9449 §4.2) with key { privateKey, publicJwk }.
export async function proof(key, htm, htu, tok) {
  const claims = { jti: crypto.randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
  if (tok) claims.ath = sha(tok);
  return new jose.SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    .sign(key.privateKey);
}

export const claimsOf = (jws) => JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString());
