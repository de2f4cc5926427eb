// Token exchange throughput (issue #8, benchmark 4): access token -> JWT
// assertion (SPEC §7.2), the request every sent message costs its
// domain's AS. Prints exchange_per_s=<n>; its anchor is the crypto bound
// of bench/crypto-bound.sh, taken by scripts/bench.sh in the same run.
//
// It starts one `federizer as` (the system-test harness: scratch folder,
// test CA), signs alice in once, then loads the token endpoint for
// SECONDS with WORKERS x CONCURRENCY requests in flight. Every request is
// what an MTA sends in production: a fresh DPoP proof (RFC 9449), a fresh
// private_key_jwt client assertion (RFC 7523), the user's access token
// and a `headers` parameter.
//
// The load comes from bench/exchange_load (C, built beside federizer:
// the MTA's own client code, one keep-alive connection per thread),
// because the AS and its client share this machine's cores and the
// Node.js client cost more CPU than the AS it measured. GENERATOR=node
// runs the former Node.js client (worker threads, oauth4webapi, a fresh
// DPoP key pair per request) for comparison. Both CPU times are printed,
// so the output says who bounded the figure.
//
//   FZ_BIN=build/src/cmd/federizer node bench/exchange.mjs
//   SECONDS=20 WORKERS=2 CONCURRENCY=8 AS_THREADS=4 node bench/exchange.mjs
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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
const GENERATOR = process.env.GENERATOR ?? 'c';
// build/src/cmd/federizer -> build/bench/exchange_load
const LOAD_BIN = process.env.FZ_EXCHANGE_LOAD ??
  join(dirname(dirname(dirname(resolve(process.env.FZ_BIN ?? 'build/src/cmd/federizer')))),
    'bench', 'exchange_load');
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

// The Node.js generator: WORKERS worker threads of CONCURRENCY requests.
async function runNode(env, as, mta, token, headers) {
  const jwk = await jose.exportJWK(mta.privateKey);
  const data = { issuer: as.issuer, ca: env.pki.caPem, token, headers, jwk, kid: mta.kid,
    clientId: mta.clientId, seconds: SECONDS, concurrency: CONCURRENCY };
  const gen0 = cpuSeconds(process.pid);
  const results = await Promise.all(Array.from({ length: WORKERS }, () => new Promise((ok, fail) => {
    const w = new Worker(new URL(import.meta.url), { workerData: data });
    w.on('message', ok);
    w.on('error', fail);
  })));
  const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
  return {
    ok: results.reduce((n, r) => n + r.ok, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    first_error: results.find((r) => r.firstError)?.firstError,
    p50_ms: pct(0.5), p99_ms: pct(0.99),
    cpu_s: cpuSeconds(process.pid) - gen0,
  };
}

// A build directory made for federizer alone (scripts/bench.sh builds
// that one target) may not have the generator yet.
function buildLoadBin() {
  if (existsSync(LOAD_BIN) || process.env.FZ_EXCHANGE_LOAD) return;
  execFileSync('ninja', ['-C', dirname(dirname(LOAD_BIN)), 'bench/exchange_load'],
    { stdio: ['ignore', 'ignore', 'inherit'] });
}

// The C generator: one thread per request in flight; it prints its
// counts and its own CPU seconds as one JSON line.
async function runC(env, as, mta, token, headers) {
  const url = new URL(as.url('/token'));
  const config = join(as.dir, 'exchange-load.json');
  writeFileSync(config, JSON.stringify({
    token_endpoint: url.href, resolve: `${url.hostname}:${url.port}:127.0.0.1`,
    ca_file: env.pki.caFile, client_id: mta.clientId, client_kid: mta.kid,
    client_key_pem: await jose.exportPKCS8(mta.privateKey),
    subject_token: token, headers, seconds: SECONDS, threads: WORKERS * CONCURRENCY,
  }), { mode: 0o600 });
  const child = spawn(LOAD_BIN, [config], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  const code = await new Promise((ok, fail) => {
    child.on('error', fail);
    child.on('close', ok);
  });
  if (code !== 0) throw new Error(`${LOAD_BIN} exited with ${code}`);
  return JSON.parse(out);
}

async function main() {
  if (GENERATOR !== 'node') buildLoadBin();
  const { env, as, mta, token, headers } = await setup();
  let r, asCpu;
  try {
    const cpu0 = cpuSeconds(as.proc.pid);
    r = await (GENERATOR === 'node' ? runNode : runC)(env, as, mta, token, headers);
    asCpu = cpuSeconds(as.proc.pid) - cpu0;
  } finally {
    await env.cleanup();
  }
  console.log(`token exchange (access token -> assertion), ${GENERATOR} generator, ` +
    `${WORKERS} x ${CONCURRENCY} in flight, ${SECONDS} s, AS threads ${AS_THREADS}`);
  console.log(`  ${r.ok} ok, ${r.failed} failed: ${(r.ok / SECONDS).toFixed(0)} requests/s; ` +
    `latency p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms`);
  if (r.failed > 0 || r.ok === 0) {
    console.log(`  first failure: ${r.first_error}`);
    process.exitCode = 1;
    return;
  }
  // The client shares the cores with the AS: what the AS would do with
  // every core to itself, from the CPU time it spent per exchange.
  console.log(`  CPU: the AS ${asCpu.toFixed(2)} s (${(1000 * asCpu / r.ok).toFixed(2)} ms per ` +
    `exchange), the load generator ${r.cpu_s.toFixed(2)} s (${(1000 * r.cpu_s / r.ok).toFixed(2)} ms)`);
  console.log(`exchange_per_s=${(r.ok / SECONDS).toFixed(1)}`);
  console.log(`exchange_as_cpu_ms=${(1000 * asCpu / r.ok).toFixed(3)}`);
  console.log(`exchange_generator_cpu_ms=${(1000 * r.cpu_s / r.ok).toFixed(3)}`);
  console.log(`exchange_as_capacity_per_s=${(r.ok / asCpu * availableParallelism()).toFixed(1)}`);
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
