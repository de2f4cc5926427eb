// Helpers of the fault tests (tests/system/fault.test.mjs): a user who
// keeps going while servers die under them, a chaos loop that kills
// servers with SIGKILL and restarts them, and an audit of a blob store
// on disk.
//
//   const alice = faultUser(fed, 'com', ALICE);
//   const killer = chaos(fed, { rounds: 3, total: N, progress: () => sent.size });
//   const sent = await alice.send(block, parts);   // retried through kills
//   const audit = blobAudit(fed.mbx.com.blobs);    // { objects, bad, puts, parts }
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { PW, sleep, SLOWDOWN } from './federation.mjs';
import { loginWithPkce } from './login.mjs';

// How long a user keeps retrying one request before the test fails.
const PATIENCE_MS = 90000 * SLOWDOWN;
const RETRY_PAUSE_MS = 200;
// 500 is not among them: an outage of a peer is never an internal error
const RETRIED = new Set([502, 503, 504]);

// The digest of bytes as the store names them (SPEC §2).
const digestOf = (buf) => createHash('sha256').update(buf).digest('base64url');

// Every object of the blob store at dir: its bytes must hash to its name
// and sit under ab/cd/ of that name. puts: temporary files of uploads
// (FZ_BLOB_TMP_PREFIX); parts: partial downloads (FZ_BLOB_PART_PREFIX),
// leftovers only once no fetch is pending. others: any other file.
export function blobAudit(dir) {
  const out = { objects: 0, bytes: 0, bad: [], puts: [], parts: [], others: [] };
  for (const l1 of readdirSync(dir)) {
    if (l1 === 'tmp') {
      for (const f of readdirSync(join(dir, 'tmp'))) {
        if (f.startsWith('put-')) out.puts.push(f);
        else if (f.startsWith('part-')) out.parts.push(f);
        else out.others.push(`tmp/${f}`);
      }
      continue;
    }
    if (!statSync(join(dir, l1)).isDirectory()) {
      out.others.push(l1);
      continue;
    }
    for (const l2 of readdirSync(join(dir, l1))) {
      for (const name of readdirSync(join(dir, l1, l2))) {
        const bytes = readFileSync(join(dir, l1, l2, name));
        out.objects++;
        out.bytes += bytes.length;
        const placed = name.length === 43 && name.slice(0, 2) === l1 && name.slice(2, 4) === l2;
        const got = digestOf(bytes);
        if (!placed || got !== name) out.bad.push(`${l1}/${l2}/${name} (${bytes.length} bytes hash to ${got})`);
      }
    }
  }
  return out;
}

// True for what a request meets while its server is down or restarting.
const transient = (e) => /ECONNREFUSED|ECONNRESET|EPIPE|socket|terminated|closed|other side|fetch failed|timeout/i
  .test(`${e?.message} ${e?.cause?.code ?? ''} ${e?.cause?.message ?? ''}`);

// A user of mailbox k who retries through outages: each request is
// repeated while the connection fails or the answer is 5xx, and a 401
// (an access token that ran out) logs in again.
export function faultUser(fed, k, address) {
  const m = () => fed.mbx[k];
  const u = { k, address, token: null, retries: 0, outages: {} };

  async function login() {
    for (const end = Date.now() + PATIENCE_MS; ;) {
      try {
        u.token = (await loginWithPkce(fed.env, fed.as[k], { clientId: 'webmail',
          redirectUri: m().url('/oauth/callback'), username: address, password: PW })).access_token;
        return u.token;
      } catch (e) {
        if (Date.now() > end) throw e;
        u.retries++;
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  // fetch of path on the MBX until an answer that is neither a dropped
  // connection nor a 5xx: { status, text }.
  async function call(path, init = {}) {
    if (!u.token) await login();
    for (const end = Date.now() + PATIENCE_MS; ;) {
      let r = null;
      let text = '';
      let failure = null;
      try {
        r = await fed.env.fetch(m().url(path), { ...init,
          headers: { ...(init.headers ?? {}), authorization: `Bearer ${u.token}` } });
        text = await r.text();
      } catch (e) {
        if (!transient(e)) throw e;
        failure = e;
      }
      if (r && r.status === 401 && Date.now() < end) {
        await login();
        continue;
      }
      // 5xx but these are answers, not outages (507: the disk is full)
      if (r && !RETRIED.has(r.status)) return { status: r.status, text, json: () => JSON.parse(text) };
      if (Date.now() > end) throw new Error(`${path}: ${failure?.message ?? `${r.status} ${text}`}`);
      const what = r ? `${r.status} ${text.slice(0, 120)}` : 'no connection';
      u.outages[what] = (u.outages[what] ?? 0) + 1;
      u.retries++;
      await sleep(RETRY_PAUSE_MS);
    }
  }

  const ok = (r, ...want) => {
    if (!want.includes(r.status)) throw new Error(`${r.status} ${r.text}`);
    return r.json();
  };

  u.login = login;
  u.call = call;
  u.upload = async (bytes, type) => ok(await call('/api/v1/resources', { method: 'POST', body: bytes,
    headers: { 'content-type': type } }), 200, 201).digest;
  // The draft of block and parts, sent: the sent message. An answer lost
  // to a kill is found again: the draft is then in the sent folder.
  u.send = async (block, parts) => {
    const doc = { envelope: [{ headers: block }], body: { parts } };
    const draft = ok(await call('/api/v1/messages', { method: 'POST', body: JSON.stringify(doc),
      headers: { 'content-type': 'application/json' } }), 201);
    const r = await call(`/api/v1/messages/${draft.id}/send`, { method: 'POST' });
    if (r.status === 202) return r.json();
    const again = ok(await call(`/api/v1/messages/${draft.id}`), 200);
    if (r.status === 409 && again.folder === 'sent') return again;
    throw new Error(`send ${draft.id}: ${r.status} ${r.text}`);
  };
  u.status = async (id) => ok(await call(`/api/v1/messages/${id}/status`), 200);
  // Every message of the mailbox, page after page.
  u.sync = async () => {
    const all = { changed: [], inline: {} };
    for (let since = null; ;) {
      const q = since ? `?since=${encodeURIComponent(since)}` : '';
      const s = ok(await call(`/api/v1/sync${q}`), 200);
      all.changed.push(...s.changed);
      Object.assign(all.inline, s.inline ?? {});
      if (!s.more) return all;
      since = s.state;
    }
  };
  u.download = async (digest) => {
    const r = await fed.env.fetch(m().url(`/api/v1/resources/${digest}`),
      { headers: { authorization: `Bearer ${u.token}` } });
    const buf = Buffer.from(await r.arrayBuffer());
    return r.status === 200 ? buf : null;
  };
  return u;
}

// The servers of fed a chaos loop may kill: name -> { kill, exited, start }.
export function victims(fed) {
  const out = {};
  for (const k of Object.keys(fed.mbx)) {
    out[`mbx.${k}`] = fed.mbx[k];
    out[`as.${k}`] = fed.as[k];
  }
  out.dns = { signal: (s) => fed.dns.kill(s), get exited() { return fed.dns.exited; },
    start: () => fed.dns.start() };
  return out;
}

const shuffle = (a) => {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

// Kills with SIGKILL, rounds times, every server of victims(fed) once a
// round in a random order, each at a random point of the run: when
// progress() (messages sent so far) reaches a random mark below total,
// plus up to jitterMs. A killed server is down for up to downMs, then
// restarted, before the next kill. done resolves to the kills made.
export function chaos(fed, { rounds, total, progress, jitterMs = 0, downMs = [0, 1500],
  log = () => {} }) {
  const all = victims(fed);
  const order = Array.from({ length: rounds }, () => shuffle(Object.keys(all))).flat();
  const marks = order.map(() => Math.floor(Math.random() * total)).sort((a, b) => a - b);
  const kills = [];
  let signalled = 0;
  const done = (async () => {
    for (const [n, name] of order.entries()) {
      while (progress() < marks[n]) await sleep(20);
      await sleep(Math.random() * jitterMs);
      const s = all[name];
      const at = Date.now();
      const sentAt = progress();
      s.signal('SIGKILL');
      signalled++;
      await s.exited;
      await sleep(downMs[0] + Math.random() * (downMs[1] - downMs[0]));
      await s.start();
      kills.push({ name, round: Math.floor(n / Object.keys(all).length), sentAt, downMs: Date.now() - at });
      log(`kill -9 ${name} at message ${sentAt}, back after ${Date.now() - at} ms`);
    }
    return kills;
  })();
  // Senders wait here before each message, so every kill falls among
  // sends (the ones in flight) rather than all after them.
  const gate = async () => {
    while (signalled < marks.length && progress() >= marks[signalled]) await sleep(20);
  };
  return { done, kills, gate };
}
