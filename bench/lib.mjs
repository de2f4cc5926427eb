// What the benchmarks share: two mail domains (example.com with Alice,
// example.net with Bob), each an AS and an MBX of the system-test
// harness, found by each other through a real dnsmasq; sending through
// the APP API as the webmail does; counting what reached Bob; reading a
// process's memory. All the load comes from one address, so the
// per-address rate and connection limits are lifted (config values).
import { readFileSync } from 'node:fs';

import { AsServer, freePort, makeFetch, makeTestEnv } from '../tests/system/lib/index.mjs';
import { startDnsmasq } from '../tests/system/lib/dns.mjs';
import { loginWithPkce } from '../tests/system/lib/login.mjs';
import { MbxServer } from '../tests/system/lib/mbx.mjs';

export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.net';
const PW = 'correct horse battery';

export const LIFTED = { rate_per_ip: 1000000, rate_burst: 1000000, per_ip_connections: 4096,
  max_connections: 8192 };

// The settings of a production mailbox but for the lifted limits and
// no access log (a line per request would measure stderr).
export function mbxConfig({ workers = 4, threads = 16, dns_server, extra = {} } = {}) {
  return {
    access_log: false, dns_server,
    limits: { ...LIFTED, threads, sync_page_size: 1000, long_poll_max_waiters: 16 },
    queue: { workers, poll_interval: 1, initial_retry: 1, max_retry: 2 },
    ...extra,
  };
}

// Starts the two domains; resolves to { env, dns, as, mbx, token, fetch,
// cleanup }. fetch is a client of its own (keep-alive, no contract checks,
// which would cost the client CPU the servers need).
export async function federation(opts = {}) {
  const env = await makeTestEnv('fz-bench-');
  const dns = { stop: async () => {} };
  try {
    return await start(env, dns, opts);
  } catch (e) {
    await env.cleanup();
    await dns.stop();
    throw e;
  }
}

async function start(env, dnsHolder, { workers = 4, threads = 16, asThreads = 4, mbxExtra = {} }) {
  const dnsPort = await freePort();
  const dns_server = `127.0.0.1:${dnsPort}`;
  const pairs = [['com', 'example.com'], ['net', 'example.net']];
  const as = {};
  const mbx = {};
  for (const [k, domain] of pairs) {
    as[k] = await AsServer.create(env, { name: `as.${domain}`, domains: [domain], config: {
      dns_server, access_log: false, limits: { ...LIFTED, threads: asThreads } } });
    mbx[k] = await MbxServer.create(env, as[k], { name: `mbx.${domain}`, domains: [domain],
      mtaClientId: `mta.${domain}`,
      config: mbxConfig({ workers, threads, dns_server, extra: mbxExtra }) });
  }
  const dns = await startDnsmasq({
    port: dnsPort,
    srv: pairs.flatMap(([k, domain]) => [
      [`_federizer._as._tcp.${domain}`, `as.${domain}`, Number(new URL(as[k].issuer).port)],
      [`_federizer._rs._tcp.${domain}`, `mbx.${domain}`, Number(new URL(mbx[k].baseUrl).port)]]),
    hosts: pairs.flatMap(([, domain]) => [`as.${domain}`, `mbx.${domain}`]),
  });
  dnsHolder.stop = () => dns.stop();
  for (const [k, user] of [['com', ALICE], ['net', BOB]]) {
    as[k].adminOk(['user', 'add', user], { input: `${PW}\n` });
    as[k].adminOk(['client', 'add', 'webmail', '--public', '--first-party',
      '--redirect-uri', mbx[k].url('/oauth/callback'), '--audience', mbx[k].baseUrl]);
    await mbx[k].registerMta();
  }
  await Promise.all(Object.values(as).map((s) => s.start()));
  await Promise.all(Object.values(mbx).map((s) => s.start()));
  const login = async (k, username) => (await loginWithPkce(env, as[k], {
    clientId: 'webmail', redirectUri: mbx[k].url('/oauth/callback'), username, password: PW })).access_token;
  const token = { alice: await login('com', ALICE), bob: await login('net', BOB) };
  const fetch = makeFetch({ ca: env.pki.caPem });
  const fed = { env, dns, as, mbx, token, fetch };
  // a mailbox exists once its user called the MBX (docs/protocol.md)
  await syncAll(fed, 'net', token.bob);
  await syncAll(fed, 'com', token.alice);
  fed.cleanup = async () => {
    await fetch.close();
    const logs = Object.values(mbx).map((m) => m.log).join('');
    await env.cleanup();
    await dns.stop();
    return logs;
  };
  return fed;
}

// The benchmark's many small calls go through undici's request(): the
// same agent and connections as fetch, at about half the client CPU,
// which shares the machine with the servers being measured. A web
// stream body (the large pull's upload) still goes through fetch.
export async function api(fed, k, path, tok, init = {}) {
  if (init.body instanceof ReadableStream) return apiFetch(fed, k, path, tok, init);
  const headers = { ...(init.headers ?? {}), authorization: `Bearer ${tok}` };
  const url = new URL(fed.mbx[k].url(path));
  const r = await fed.fetch.agent.request({ origin: url.origin, path: url.pathname + url.search,
    method: init.method ?? 'GET', headers, body: init.body });
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new Error(`${init.method ?? 'GET'} ${path}: ${r.statusCode} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function apiFetch(fed, k, path, tok, init) {
  const headers = { ...(init.headers ?? {}), authorization: `Bearer ${tok}` };
  const r = await fed.fetch(fed.mbx[k].url(path), { ...init, headers });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${init.method ?? 'GET'} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A text body of exactly size bytes, different for every n (the same
// bytes would be stored once and pushed once).
export function body(n, size = 1024) {
  const head = `Message ${n} of the delivery benchmark.\n`;
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - 1)) + '\n');
}

// Sends one message from Alice to Bob as the webmail does: the body
// uploaded, a draft made, the draft sent. Resolves to the send answer.
export async function sendOne(fed, n, { text = body(n), attachment = null } = {}) {
  const tok = fed.token.alice;
  const up = await api(fed, 'com', '/api/v1/resources', tok,
    { method: 'POST', body: text, headers: { 'content-type': 'text/plain; charset=UTF-8' } });
  const parts = [leaf(up.digest, text.length, 'text/plain; charset=UTF-8', 'inline')];
  if (attachment) {
    parts.push(leaf(attachment.digest, attachment.size, 'application/octet-stream',
      'attachment; filename="big.bin"'));
  }
  const doc = { envelope: [{ headers: [{ From: `Alice <${ALICE}>` }, { To: `Bob <${BOB}>` },
    { Subject: `bench ${n}` }, { 'Content-Type': 'multipart/mixed' }] }], body: { parts } };
  const draft = await api(fed, 'com', '/api/v1/messages', tok, { method: 'POST',
    body: JSON.stringify(doc), headers: { 'content-type': 'application/json' } });
  return api(fed, 'com', `/api/v1/messages/${draft.id}/send`, tok, { method: 'POST' });
}

function leaf(digest, size, type, disposition) {
  return { headers: [{ 'Content-Disposition': disposition }, { 'Content-ID': `<${digest}>` },
    { 'Content-Type': [`message/external-body; access-type="x-content-addressed-uri"; ` +
      `hash-algorithm="sha256"; size="${size}"`, type] }] };
}

// Every page of a sync from since (or from the start); { state, ids }.
// inline collects the digests of the inline bodies that came with them.
export async function syncAll(fed, k, tok, since = null, ids = new Set(), inline = new Set()) {
  let state = since;
  for (;;) {
    const q = state ? `?since=${encodeURIComponent(state)}` : '';
    const s = await api(fed, k, `/api/v1/sync${q}`, tok);
    for (const c of s.changed ?? []) if (c.folder === 'inbox') ids.add(c.id);
    for (const d of Object.keys(s.inline ?? {})) inline.add(d);
    state = s.state;
    if (!s.more) return { state, ids, inline };
  }
}

// Resolves with the time (performance.now()) at which Bob's inbox held
// n messages with their n (distinct) inline bodies, stored at his MBX:
// "fetched into his mailbox". Attachments are not waited for.
// FZ_BENCH_TIMEOUT (seconds, 1800) bounds the wait: the smoke sets it
// low so that a broken delivery fails instead of hanging.
export const TIMEOUT_MS = 1000 * Number(process.env.FZ_BENCH_TIMEOUT ?? 1800);

export async function waitForBob(fed, n, { pollMs = 100, timeoutMs = TIMEOUT_MS } = {}) {
  const end = Date.now() + timeoutMs;
  const seen = new Set();
  const bodies = new Set();
  let state = null;
  for (;;) {
    ({ state } = await syncAll(fed, 'net', fed.token.bob, state, seen, bodies));
    if (seen.size >= n && bodies.size >= n) return performance.now();
    if (Date.now() > end) {
      throw new Error(`bob has ${seen.size} of ${n} messages, ${bodies.size} bodies, after the timeout`);
    }
    await new Promise((ok) => setTimeout(ok, pollMs));
  }
}

// Runs job(i) for i in [0, count) with `concurrency` in flight.
export async function pool(count, concurrency, job) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await job(next++);
  }));
}

// VmRSS / VmHWM of a process, in KiB.
export function memKiB(pid, field = 'VmRSS') {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// CPU seconds (user + system) a process has used so far.
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command, which may hold spaces: utime and stime
  // are the 12th and 13th of them, in clock ticks (100 a second here)
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

// CPU seconds of every server of a federation and of this process (the
// load generator), so a run shows which of them bounds it.
export function cpuOf(fed) {
  const out = {};
  for (const [k, s] of [...Object.entries(fed.as).map(([k, s]) => [`as.${k}`, s]),
    ...Object.entries(fed.mbx).map(([k, s]) => [`mbx.${k}`, s])]) out[k] = cpuSeconds(s.proc.pid);
  const u = process.cpuUsage();
  out.client = (u.user + u.system) / 1e6;
  return out;
}

// `name=value` lines parsed by scripts/bench.sh.
export function figure(name, value, digits = 1) {
  console.log(`${name}=${Number(value).toFixed(digits)}`);
}
