// Our JOSE, DPoP and digest code held against independent implementations:
// panva's `jose` verifies what `federizer tool` signs and the other way
// round, and the Body-Digest is recomputed here with a JCS written in JS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import YAML from 'yaml';

import { runFederizer } from './lib/index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fz-jose-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// Through the harness, so that FZ_VALGRIND runs the tool under memcheck
// and a sanitizer or valgrind report fails this file.
function tool(args, input) {
  const r = runFederizer(['tool', ...args], { input });
  assert.equal(r.status, 0, `tool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function toolFails(args, input) {
  const r = runFederizer(['tool', ...args], { input });
  assert.notEqual(r.status, 0, `expected failure of tool ${args.join(' ')}`);
  return r.stderr;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const digest = (bytes) => b64url(createHash('sha256').update(bytes).digest());

for (const alg of ['ES256', 'RS256']) {
  test(`${alg}: jose verifies a JWS that federizer signed, with its JWKS`, async () => {
    const key = join(dir, `${alg}.pem`);
    const kid = tool(['keygen', '--alg', alg, '--out', key]);
    const jwks = JSON.parse(tool(['jwks', key]));
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kid, kid);
    assert.equal(jwks.keys[0].d, undefined, 'no private member in a JWKS');
    // The kid is the RFC 7638 thumbprint, as jose computes it.
    assert.equal(await jose.calculateJwkThumbprint(jwks.keys[0], 'sha256'), kid);

    const claims = { iss: 'https://as.example.com/', sub: 'alice@example.com', n: 7 };
    const jws = tool(['sign', '--key', key, '--typ', 'at+jwt'], JSON.stringify(claims));
    const { payload, protectedHeader } = await jose.jwtVerify(jws, jose.createLocalJWKSet(jwks), {
      algorithms: [alg], typ: 'at+jwt',
    });
    assert.deepEqual(payload, claims);
    assert.equal(protectedHeader.kid, kid);
  });
}

test('federizer verifies what jose signs, and refuses a flipped bit', async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  const jwksFile = join(dir, 'jose-jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const jws = await new jose.SignJWT({ sub: 'bob@example.net' })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
    .sign(privateKey);
  assert.deepEqual(JSON.parse(tool(['verify', '--jwks', jwksFile], jws)), { sub: 'bob@example.net' });

  const [h, p, s] = jws.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[10] ^= 1;
  assert.match(toolFails(['verify', '--jwks', jwksFile], `${h}.${p}.${b64url(sig)}`), /signature/);
});

test('federizer refuses alg none made by jose', async () => {
  const jwksFile = join(dir, 'jose-jwks.json');
  const unsecured = new jose.UnsecuredJWT({ sub: 'mallory' }).encode();
  assert.match(toolFails(['verify', '--jwks', jwksFile], unsecured), /none/);
});

test('jose verifies a DPoP proof federizer made, and agrees on the thumbprint', async () => {
  const key = join(dir, 'dpop.pem');
  tool(['keygen', '--out', key]);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'an-access-token');
  const proof = tool(['dpop', '--key', key, '--htm', 'POST', '--htu',
    'HTTPS://MBX.Example.NET:443/mta/v1/resources/x?ignored=1', '--token-file', tokenFile]);
  const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, {
    typ: 'dpop+jwt', algorithms: ['ES256'],
  });
  assert.equal(payload.htm, 'POST');
  assert.equal(payload.htu, 'https://mbx.example.net/mta/v1/resources/x');
  assert.equal(payload.ath, digest('an-access-token'));
  assert.ok(typeof payload.jti === 'string' && payload.jti.length >= 22);
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60);
  assert.equal(protectedHeader.jwk.d, undefined);
  const kid = JSON.parse(tool(['jwks', key])).keys[0].kid;
  assert.equal(await jose.calculateJwkThumbprint(protectedHeader.jwk), kid);
});

test('federizer verifies a DPoP proof jose made, and refuses the wrong htu', async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
  const jwk = await jose.exportJWK(publicKey);
  const proof = await new jose.SignJWT({
    htm: 'GET', htu: 'https://as.example.com/jwks', jti: b64url(crypto.getRandomValues(new Uint8Array(16))),
  }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().sign(privateKey);
  const jkt = tool(['dpop-verify', '--htm', 'GET', '--htu', 'https://as.example.com:443/jwks'], proof);
  assert.equal(jkt, await jose.calculateJwkThumbprint(jwk));
  assert.match(toolFails(['dpop-verify', '--htm', 'GET', '--htu', 'https://as.example.com/token'], proof), /htu/);
  assert.match(toolFails(['dpop-verify', '--htm', 'POST', '--htu', 'https://as.example.com/jwks'], proof), /htm/);
});

// JCS of a tree of objects, arrays and strings: JSON.stringify with keys in
// UTF-16 order, which is JavaScript's default sort. Written independently
// of the C code.
function jcs(v) {
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

test('the seed message: YAML and JSON forms agree, and so does the Body-Digest', () => {
  const yamlText = readFileSync(join(here, '../data/seed-fig1.yaml'), 'utf8');
  const json = JSON.parse(tool(['placeholder', '--from', 'yaml', '--to', 'json'], yamlText));
  assert.deepEqual(json, YAML.parse(yamlText));
  const expected = `Body-Digest: <${digest(jcs(json.body))}>`;
  assert.equal(tool(['placeholder', '--from', 'yaml', '--to', 'digest'], yamlText), expected);
  assert.equal(tool(['placeholder', '--from', 'json', '--to', 'digest'], JSON.stringify(json)), expected);
  const backToYaml = tool(['placeholder', '--from', 'json', '--to', 'yaml'], JSON.stringify(json));
  assert.deepEqual(YAML.parse(backToYaml), json);
});

test('a Placeholder with a YAML alias is refused with a clear message', () => {
  const bomb = 'a: &x [1]\nb: *x\n';
  assert.match(toolFails(['placeholder'], bomb), /alias|anchor/i);
});
