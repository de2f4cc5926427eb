// An MTA as the AS sees it: a confidential client with a JWKS made by
// jose (private_key_jwt, RFC 7523) registered as the sibling of a
// mailbox, and RFC 8693 token exchanges sent with oauth4webapi, a fresh
// DPoP key and proof each (RFC 9449) unless told otherwise.
//
//   const mta = await makeMta(as, 'mta.example.com', 'https://mbx.example.com/');
//   const r = await exchange(env, as, mta, { subject_token, ... });
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TT_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TT_JWT = 'urn:ietf:params:oauth:token-type:jwt';

// The AS's metadata as oauth4webapi wants it, fetched once per AS.
const metas = new WeakMap();
export async function asMetadata(env, as) {
  if (!metas.has(as)) {
    const issuer = new URL(as.issuer);
    const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.customFetch]: env.fetch });
    metas.set(as, await oauth.processDiscoveryResponse(issuer, res));
  }
  return metas.get(as);
}

// Registers clientId at as; siblingOf may be null (a confidential
// client that is no MTA).
export async function makeMta(as, clientId, siblingOf, { alg = 'ES256' } = {}) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  const file = join(as.dir, `${clientId}.jwks.json`);
  writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  const args = ['client', 'add', clientId, '--confidential', '--jwks-file', file];
  if (siblingOf) args.push('--sibling-of', siblingOf);
  as.adminOk(args);
  return {
    clientId,
    privateKey,
    kid: jwk.kid,
    client: { client_id: clientId },
    auth: oauth.PrivateKeyJwt({ key: privateKey, kid: jwk.kid }),
  };
}

// One token exchange. params: the RFC 8693 parameters. Options: dpop
// false sends no proof; dpopKey reuses a key pair; auth replaces the
// client authentication. Resolves to { res, keyPair } (res unread).
export async function exchangeRaw(env, as, mta, params, { dpop = true, dpopKey, auth } = {}) {
  const meta = await asMetadata(env, as);
  const keyPair = dpopKey ?? await oauth.generateKeyPair('ES256');
  const DPoP = dpop ? oauth.DPoP(mta.client, keyPair) : undefined;
  const res = await oauth.genericTokenEndpointRequest(meta, mta.client, auth ?? mta.auth,
    GRANT_TOKEN_EXCHANGE, new URLSearchParams(params), { DPoP, [oauth.customFetch]: env.fetch });
  return { res, keyPair };
}

// A successful exchange, checked by oauth4webapi: { body, keyPair }.
export async function exchange(env, as, mta, params, opts) {
  const { res, keyPair } = await exchangeRaw(env, as, mta, params, opts);
  const meta = await asMetadata(env, as);
  const body = await oauth.processGenericTokenEndpointResponse(meta, mta.client, res, {
    recognizedTokenTypes: { n_a: () => {} },
  });
  return { body, keyPair };
}

// An exchange that must fail: { status, body, headers }.
export async function exchangeError(env, as, mta, params, opts) {
  const { res } = await exchangeRaw(env, as, mta, params, opts);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

// The envelope digests of SPEC §4, computed independently of the C code.
export async function sha256b64u(text) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return jose.base64url.encode(new Uint8Array(d));
}

// eht over a header block [{Name: value}, ...] in its order.
export async function eht(block) {
  const lines = block.map((h) => {
    const [[name, value]] = Object.entries(h);
    return `${name.toLowerCase()}:${value.trim()}\r\n`;
  });
  return sha256b64u(lines.join(''));
}

export async function digestHeader(text) {
  return `<${await sha256b64u(text)}>`;
}
