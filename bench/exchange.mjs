// Token exchange throughput (issue #8, benchmark 4): access token -> JWT
// assertion (SPEC §7.2), the request every sent message costs its
// domain's AS. Prints exchange_per_s=<n>; its anchor is the crypto bound
// of bench/crypto-bound.sh, taken by scripts/bench.sh in the same run.
//
// It starts one `federizer as` (the system-test harness: scratch folder,
// test CA), signs alice in once, then runs WORKERS worker threads, each
// keeping CONCURRENCY requests in flight for SECONDS. Every request is
// what an MTA sends in production: a fresh DPoP key pair and proof
// (RFC 9449), a fresh private_key_jwt client assertion (RFC 7523), the
// user's access token and a `headers` parameter.
//
//   FZ_BIN=build/src/cmd/federizer node bench/exchange.mjs
//   SECONDS=20 WORKERS=2 CONCURRENCY=8 AS_THREADS=4 node bench/exchange.mjs
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

import { AsServer, makeFetch, makeTestEnv } from '../tests/system/lib/index.mjs';
import { loginWithPkce } from '../tests/system/lib/login.mjs';
import { GRANT_TOKEN_EXCHANGE, TT_ACCESS, TT_JWT, digestHeader, makeMta } from '../tests/system/lib/mta.mjs';

const SECONDS = Number(process.env.SECONDS ?? 10);
const WORKERS = Number(process.env.WORKERS ?? 2);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const AS_THREADS = Number(process.env.AS_THREADS ?? 4);
const MBX = 'https://mbx.example.com/';

async function setup() {
  const env = await makeTestEnv('fz-bench-exchange-');
  try {
    const as = await AsServer.create(env, {
      name: 'as.example.com',
      // The load comes from one address: lift the per-address rate limit.
      config: { access_log: false, limits: { threads: AS_THREADS, rate_per_ip: 1000000, rate_burst: 1000000 } },
    });
    as.adminOk(['user', 'add', 'alice@example.com'], { input: 'correct horse\n' });
    as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
      '--redirect-uri', `${MBX}oauth/callback`, '--audience', MBX]);
    const mta = await makeMta(as, 'mta.example.com', MBX);
    await as.start();
    const { access_token: token } = await loginWithPkce(env, as, {
      clientId: 'webmail', redirectUri: `${MBX}oauth/callback`,
      username: 'alice@example.com', password: 'correct horse',
    });
    const headers = JSON.stringify([
      { 'Message-ID': '<b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@example.com>' },
      { From: 'Alice <alice@example.com>' },
      { 'Recipients-Digest': await digestHeader('to:Bob <bob@example.net>\r\n') },
      { 'Body-Digest': await digestHeader('{"parts":[]}') },
    ]);
    return { env, as, mta, token, headers };
  } catch (e) {
    await env.cleanup();
    throw e;
  }
}

// CPU seconds (user + system) the process pid used so far.
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

async function main() {
  const { env, as, mta, token, headers } = await setup();
  const cpu0 = cpuSeconds(as.proc.pid);
  const jwk = await jose.exportJWK(mta.privateKey);
  const data = { issuer: as.issuer, ca: env.pki.caPem, token, headers, jwk, kid: mta.kid,
    clientId: mta.clientId, seconds: SECONDS, concurrency: CONCURRENCY };
  const results = await Promise.all(Array.from({ length: WORKERS }, () => new Promise((ok, fail) => {
    const w = new Worker(new URL(import.meta.url), { workerData: data });
    w.on('message', ok);
    w.on('error', fail);
  })));
  const asCpu = cpuSeconds(as.proc.pid) - cpu0;
  await env.cleanup();
  const done = results.reduce((n, r) => n + r.ok, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]?.toFixed(1);
  console.log(`token exchange (access token -> assertion), ${WORKERS} workers x ${CONCURRENCY} ` +
    `in flight, ${SECONDS} s, AS threads ${AS_THREADS}`);
  console.log(`  ${done} ok, ${failed} failed: ${(done / SECONDS).toFixed(0)} requests/s; ` +
    `latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
  if (failed > 0 || done === 0) {
    console.log(`  first failure: ${results.find((r) => r.firstError)?.firstError}`);
    process.exitCode = 1;
    return;
  }
  // The client shares the cores with the AS: what the AS would do with
  // every core to itself, from the CPU time it spent per exchange.
  console.log(`  the AS used ${asCpu.toFixed(2)} CPU s: ${(1000 * asCpu / done).toFixed(2)} ms per exchange`);
  console.log(`exchange_per_s=${(done / SECONDS).toFixed(1)}`);
  console.log(`exchange_as_capacity_per_s=${(done / asCpu * availableParallelism()).toFixed(1)}`);
}

async function worker() {
  const d = workerData;
  const fetch = makeFetch({ ca: d.ca });
  const issuer = new URL(d.issuer);
  const meta = await oauth.processDiscoveryResponse(issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.customFetch]: fetch }));
  const client = { client_id: d.clientId };
  const auth = oauth.PrivateKeyJwt({ key: await jose.importJWK(d.jwk, 'ES256'), kid: d.kid });
  const params = new URLSearchParams({
    subject_token: d.token, subject_token_type: TT_ACCESS, requested_token_type: TT_JWT,
    scope: 'internet_mail', headers: d.headers,
  });
  const end = Date.now() + d.seconds * 1000;
  const r = { ok: 0, failed: 0, latencies: [], firstError: null };

  async function one() {
    const t0 = performance.now();
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const res = await oauth.genericTokenEndpointRequest(meta, client, auth, GRANT_TOKEN_EXCHANGE,
      params, { DPoP, [oauth.customFetch]: fetch });
    const body = await res.text();
    if (res.status === 200) {
      r.ok++;
      r.latencies.push(performance.now() - t0);
    } else {
      r.failed++;
      r.firstError ??= `${res.status} ${body}`;
    }
  }
  await Promise.all(Array.from({ length: d.concurrency }, async () => {
    while (Date.now() < end) await one();
  }));
  await fetch.close();
  parentPort.postMessage(r);
}

if (isMainThread) await main();
else await worker();
