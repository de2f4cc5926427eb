// Faults (issue "Hardening"): servers killed, a disk that fills, DNS and
// a peer's AS gone for a while. Real processes only (lib/federation.mjs:
// an AS and an MBX per domain behind a real dnsmasq).
//
//   - kill -9, at random points of a cross-domain run of N messages
//     (alice@example.com -> bob@example.net, every tenth bob -> alice,
//     every fifth with an attachment that is pulled, not pushed), of
//     every server in turn: both MBXes, both ASes and the DNS server,
//     ROUNDS times, each restarted. Then every message is in its
//     recipient's mailbox exactly once (by Message-ID) with its body,
//     the sender's status says fetched, every blob hashes to its name,
//     and no temporary or partial file is left in either blob store.
//     `make check` runs N=100, ROUNDS=3; FZ_FAULT_FULL=1 runs N=1000,
//     ROUNDS=10 (or FZ_FAULT_N, FZ_FAULT_ROUNDS);
//   - bob's MBX on a small tmpfs (blobs and database): filled, an upload
//     is 507 insufficient_storage with an RFC 6749-style body, no file
//     under a digest name and no temporary file is left, the database is
//     intact; the filler gone, the same upload succeeds;
//   - the DNS server stopped: mail waits in the queue, queued with a
//     reason, and goes when DNS is back;
//   - bob's AS down: the transfer goes, the fetch (which needs a token
//     from it) is retried until it is back; alice's AS down while bob's
//     MBX has never seen its keys: the transfer is refused for now and
//     retried until it is back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { blobAudit, chaos, faultUser } from './lib/fault.mjs';
import { killableDns } from './lib/fault-dns.mjs';
import {
  domainState, eventually, headerOf, leaf, midOf, sha, sleep, SLOWDOWN, startFederation, subjectOf,
} from './lib/federation.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.net';
const TEXT_TYPE = 'text/plain; charset=UTF-8';
const FULL = process.env.FZ_FAULT_FULL === '1';
const N = Number(process.env.FZ_FAULT_N ?? (FULL ? 1000 : 100));
const ROUNDS = Number(process.env.FZ_FAULT_ROUNDS ?? (FULL ? 10 : 3));
const SENDERS = 4;          // sends in flight at once
const ATTACHMENT = 20000;   // bytes: over PUSH_MAX, so it is fetched
const PUSH_MAX = 4096;

// Retries every 1-2 s; a killed worker's entries come back after LEASE s.
const QUEUE = { initial_retry: 1, max_retry: 2, give_up_after: 3600, lease: 10, timeout: 4,
  poll_interval: 1, push_max_bytes: PUSH_MAX };
// A peer that was down is looked up again after a second, not 30.
const DISCOVERY = { negative_ttl: 1 };
const log = (s) => console.log(`# ${new Date().toISOString().slice(11, 19)} ${s}`);

const origin = (from, to, subject) => [{ From: from }, { To: to }, { Subject: subject },
  { 'Content-Type': 'multipart/mixed' }];
const inlineDigest = (doc) => headerOf(doc.body.parts[0].headers, 'Content-ID').slice(1, -1);

// The copies of msgs (Message-ID -> sent message) in u's mailbox: how
// many of each, and which have their inline body.
async function arrivals(u, mids) {
  const s = await u.sync();
  const byId = new Map();
  for (const c of s.changed) if (c.document) byId.set(c.id, c);
  const count = new Map();
  const whole = new Set();
  for (const c of byId.values()) {
    const mid = midOf(c.document);
    if (!mids.has(mid) || c.folder === 'sent') continue;
    count.set(mid, (count.get(mid) ?? 0) + 1);
    if (s.inline[inlineDigest(c.document)]) whole.add(mid);
  }
  return { count, whole };
}

function auditBoth(fed) {
  for (const k of Object.keys(fed.mbx)) {
    const a = blobAudit(fed.mbx[k].blobs);
    assert.deepEqual(a.bad, [], `mbx.${k}: blobs that do not hash to their name`);
    assert.deepEqual(a.puts, [], `mbx.${k}: temporary files left`);
    assert.deepEqual(a.parts, [], `mbx.${k}: partial downloads left`);
    assert.deepEqual(a.others, [], `mbx.${k}: stray files`);
    log(`mbx.${k}: ${a.objects} blobs (${a.bytes} bytes) all hash to their names`);
  }
}

describe('kill -9 of every server during a cross-domain run', () => {
  let fed;

  before(async () => {
    fed = await startFederation('fz-fault-kill-', {
      only: ['com', 'net'], users: { com: [ALICE], net: [BOB] }, queue: QUEUE,
      mbxConfig: { com: { discovery: DISCOVERY }, net: { discovery: DISCOVERY } },
      startDns: killableDns(),
    });
  });

  after(async () => { await fed?.stop(); });

  test(`${N} messages, ${ROUNDS} rounds of kills: each delivered once, blobs whole, no leftovers`,
    { timeout: (FULL ? 3600 : 300) * 1000 * SLOWDOWN }, async () => {
      const started = Date.now();
      const user = { com: faultUser(fed, 'com', ALICE), net: faultUser(fed, 'net', BOB) };
      for (const u of Object.values(user)) { await u.login(); await u.sync(); }
      const runId = randomBytes(4).toString('hex');
      const sent = new Map(); // Message-ID -> { from, to, id, attachment }
      const killer = chaos(fed, { rounds: ROUNDS, total: N, progress: () => sent.size, log });

      let next = 0;
      const sendOne = async (i) => {
        const back = i % 10 === 9;
        const [from, to] = back ? ['net', 'com'] : ['com', 'net'];
        const u = user[from];
        const text = `Message ${i} of run ${runId}.\n${randomBytes(16).toString('hex')}\n`;
        const parts = [leaf(await u.upload(Buffer.from(text), TEXT_TYPE), Buffer.byteLength(text),
          TEXT_TYPE, 'inline')];
        let attachment = null;
        if (i % 5 === 0) {
          attachment = randomBytes(ATTACHMENT);
          parts.push(leaf(await u.upload(attachment, 'application/octet-stream'), ATTACHMENT,
            'application/octet-stream', `attachment; filename="a${i}.bin"`));
        }
        const s = await u.send(origin(u.address, user[to].address, `Fault ${runId} #${i}`), parts);
        sent.set(midOf(s.document), { from, to, id: s.id, i, attachment, digest: attachment && sha(attachment),
          text: inlineDigest(s.document) });
      };
      await Promise.all(Array.from({ length: SENDERS }, async () => {
        for (;;) {
          await killer.gate();
          if (next >= N) return;
          await sendOne(next++);
        }
      }));
      const sendMs = Date.now() - started;
      log(`${N} sent in ${sendMs} ms (${user.com.retries + user.net.retries} client retries)`);
      for (const u of Object.values(user)) {
        for (const [what, n] of Object.entries(u.outages)) log(`${u.address} met ${n} x ${what}`);
      }
      // the rest of the kills fall on the deliveries still under way
      const kills = await killer.done;

      // every message in its recipient's mailbox with its body, sender says fetched
      const mids = { com: new Set(), net: new Set() };
      for (const [mid, m] of sent) mids[m.to].add(mid);
      let last = {};
      await eventually(async () => {
        for (const k of ['com', 'net']) last[k] = await arrivals(user[k], mids[k]);
        return ['com', 'net'].every((k) => last[k].whole.size === mids[k].size);
      }, 'every message at its recipient', FULL ? 600000 : 120000).catch((e) => {
        const missing = [...sent].filter(([mid, m]) => !last[m.to]?.whole.has(mid)).map(([, m]) => m.i);
        throw new Error(`${e.message}: missing ${missing.length}: #${missing.slice(0, 20).join(' #')}`);
      });
      const waiting = new Map(sent);
      await eventually(async () => {
        for (const [mid, m] of waiting) {
          const st = await user[m.from].status(m.id);
          if (domainState(st, m.to === 'com' ? 'example.com' : 'example.net')?.state === 'fetched') {
            waiting.delete(mid);
          }
        }
        return waiting.size === 0;
      }, 'every status fetched', FULL ? 600000 : 120000).catch(async (e) => {
        const why = [];
        for (const [mid, m] of [...waiting].slice(0, 5)) {
          const lines = (log) => log.split('\n').filter((l) => l.includes(mid) || l.includes(m.text) ||
            l.includes(m.digest ?? mid));
          why.push(`#${m.i} ${mid}: ${JSON.stringify(await user[m.from].status(m.id))}`,
            ...lines(fed.mbx.com.log), ...lines(fed.mbx.net.log));
        }
        const dump = join(tmpdir(), `fz-fault-logs-${process.pid}.txt`);
        writeFileSync(dump, ['com', 'net'].map((k) => `--- mbx.${k} ---\n${fed.mbx[k].log}`).join('\n'));
        throw new Error(`${e.message}: ${waiting.size} not fetched (logs in ${dump})\n${why.join('\n')}`);
      });
      for (const m of sent.values()) {
        if (!m.attachment) continue;
        // the origin says fetched once it served the bytes; a recipient
        // killed mid-download has them only after its retry
        const got = await eventually(() => user[m.to].download(m.digest), `#${m.i}: the attachment`);
        assert.ok(got.equals(m.attachment), `#${m.i}: the attachment at the recipient`);
      }
      await sleep(2000 * SLOWDOWN); // a late duplicate would show up by now
      let duplicates = 0;
      let lost = 0;
      for (const k of ['com', 'net']) {
        const { count } = await arrivals(user[k], mids[k]);
        for (const mid of mids[k]) {
          const n = count.get(mid) ?? 0;
          if (n === 0) lost++;
          if (n > 1) duplicates += n - 1;
        }
      }
      // each sent once: one message per subject in the senders' sent folders
      const sentCopies = new Map();
      for (const u of Object.values(user)) {
        for (const c of (await u.sync()).changed) {
          if (c.folder === 'sent' && subjectOf(c)?.startsWith(`Fault ${runId} `)) {
            sentCopies.set(subjectOf(c), (sentCopies.get(subjectOf(c)) ?? 0) + 1);
          }
        }
      }
      auditBoth(fed);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      log(`fault run: ${seconds} s, ${kills.length} kills (${ROUNDS} rounds), ${N} messages ` +
        `(${[...sent.values()].filter((m) => m.attachment).length} with a pulled attachment), ` +
        `duplicates ${duplicates}, lost ${lost}`);
      assert.equal(kills.length, ROUNDS * 5, 'every server killed every round');
      assert.equal(sent.size, N);
      assert.equal(sentCopies.size, N);
      assert.ok([...sentCopies.values()].every((n) => n === 1), 'each message sent once');
      assert.equal(duplicates, 0);
      assert.equal(lost, 0);
    });
});

// tmpfs mounts need CAP_SYS_ADMIN (root in this container, and in CI).
function mountTmpfs(dir, bytes) {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir],
    { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.error?.message || `mount exited ${r.status}`).trim();
}

describe('faults with short caches: a full disk, DNS stopped, a peer AS down', () => {
  const DISK = 8 * 1024 * 1024;
  let fed, disk, mounted, alice, bob;

  before(async () => {
    disk = mkdtempSync(join(tmpdir(), 'fz-fault-disk-'));
    const why = mountTmpfs(disk, DISK);
    assert.equal(why, null, `a test must be able to mount a tmpfs (root, CAP_SYS_ADMIN): ${why}`);
    mounted = true;
    const short = { ttl_min: 0, ttl_max: 1, negative_ttl: 1 };
    fed = await startFederation('fz-fault-', {
      only: ['com', 'net'], users: { com: [ALICE], net: [BOB] }, queue: QUEUE,
      // keys refetched within a second once their AS or DNS is back
      mbxConfig: { com: { discovery: short, jwks_refetch_interval: 1 },
        net: { discovery: short, jwks_refetch_interval: 1, blobs: join(disk, 'blobs'),
          database: join(disk, 'mbx.db') } },
      startDns: killableDns({ ttl: 1 }),
    });
    alice = faultUser(fed, 'com', ALICE);
    bob = faultUser(fed, 'net', BOB);
    for (const u of [alice, bob]) { await u.login(); await u.sync(); }
  });

  after(async () => {
    await fed?.stop();
    if (mounted) execFileSync('umount', [disk]);
    rmSync(disk, { recursive: true, force: true });
  });

  const sendText = async (u, to, subject) => {
    const text = `${subject}\n${randomBytes(8).toString('hex')}\n`;
    const d = await u.upload(Buffer.from(text), TEXT_TYPE);
    return u.send(origin(u.address, to, subject), [leaf(d, Buffer.byteLength(text), TEXT_TYPE, 'inline')]);
  };
  const arrived = async (u, sent) => (await arrivals(u, new Set([midOf(sent.document)]))).whole.size === 1;
  const stateAt = async (u, sent, domain) => domainState(await u.status(sent.id), domain);

  test('a disk that fills: 507 with a JSON body, nothing partial, the database intact, then service again',
    async (t) => {
      const before = await bob.upload(randomBytes(100000), 'application/octet-stream');
      const filler = join(disk, 'filler');
      const filler2 = join(disk, 'filler2');
      // whatever happens, the tests after this one get the space back
      t.after(() => { rmSync(filler, { force: true }); rmSync(filler2, { force: true }); });
      const free = () => { const s = statfsSync(disk); return s.bavail * s.bsize; };
      // leave less than the next upload needs
      writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 256 * 1024)));
      assert.ok(free() < 512 * 1024, `${free()} bytes free`);
      const big = randomBytes(1024 * 1024);
      const r = await bob.call('/api/v1/resources', { method: 'POST', body: big,
        headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(r.status, 507, r.text);
      const body = r.json();
      assert.equal(body.error, 'insufficient_storage');
      assert.equal(typeof body.error_description, 'string');
      // nothing under the digest, nothing partial, the old blob whole
      const a = blobAudit(join(disk, 'blobs'));
      assert.deepEqual(a.bad, []);
      assert.deepEqual(a.puts, [], 'the refused upload left its temporary file');
      assert.equal((await bob.call(`/api/v1/resources/${sha(big)}`)).status, 404);
      assert.ok((await bob.download(before))?.length === 100000, 'what was stored before is served');
      // the disk to the last byte: the database's pages cannot grow either
      writeFileSync(filler2, Buffer.alloc(free()));
      const r2 = await bob.call('/api/v1/resources', { method: 'POST', body: Buffer.from('tiny'),
        headers: { 'content-type': 'text/plain' } });
      assert.equal(r2.status, 507, r2.text);
      assert.equal(r2.json().error, 'insufficient_storage');
      rmSync(filler);
      rmSync(filler2);
      const check = spawnSync('sqlite3', [join(disk, 'mbx.db'), 'PRAGMA integrity_check;'], { encoding: 'utf8' });
      if (check.error) log(`sqlite3 not found: integrity check skipped`);
      else assert.equal(check.stdout.trim(), 'ok', check.stderr);
      // space again: the same upload goes through, the mailbox works
      assert.equal(await bob.upload(big, 'application/octet-stream'), sha(big));
      assert.ok((await bob.download(sha(big)))?.equals(big));
      const sent = await sendText(alice, BOB, 'After the disk');
      await eventually(() => arrived(bob, sent), 'mail at bob after the disk was freed');
      const after = blobAudit(join(disk, 'blobs'));
      assert.deepEqual([after.bad, after.puts, after.others], [[], [], []]);
      log(`disk: ${DISK} bytes of tmpfs filled, 507 answered, ${after.objects} blobs whole after`);
    });

  test('the DNS server stopped: mail waits queued with a reason, and goes when DNS is back', async () => {
    // queued first (bob's MBX down), so sending does not need DNS itself
    await fed.mbx.net.stop();
    const sent = await sendText(alice, BOB, 'Through a DNS outage');
    fed.dns.kill('SIGKILL');
    await fed.dns.exited;
    try {
      await fed.mbx.net.start(); // with no DNS: it gets its AS's keys once DNS is back
      await sleep(1500); // what the caches hold runs out (ttl 1 s)
      const queued = await eventually(async () => {
        const d = await stateAt(alice, sent, 'example.net');
        return d.state === 'queued' && /discovery of example\.net/.test(d.reason ?? '') ? d : null;
      }, 'the transfer queued for want of DNS');
      log(`DNS down: ${queued.reason}`);
      await sleep(3000 * SLOWDOWN); // as many retries as at native speed
      assert.equal((await stateAt(alice, sent, 'example.net')).state, 'queued', 'nothing went without DNS');
      await fed.dns.start();
      await eventually(() => arrived(bob, sent), 'the message at bob once DNS is back');
      await eventually(async () => (await stateAt(alice, sent, 'example.net')).state === 'fetched',
        'status fetched');
    } finally {
      if (!fed.dns.running()) await fed.dns.start();
      if (fed.mbx.net.proc.exitCode !== null || fed.mbx.net.proc.signalCode !== null) await fed.mbx.net.start();
    }
  });

  test('bob\'s AS down: the transfer goes, the fetch is retried until it is back', async () => {
    await fed.as.net.stop();
    try {
      const att = randomBytes(ATTACHMENT);
      const d = await alice.upload(att, 'application/octet-stream');
      const text = 'With an attachment only bob\'s AS can get a token for.\n';
      const t = await alice.upload(Buffer.from(text), TEXT_TYPE);
      const sent = await alice.send(origin(ALICE, BOB, 'Peer AS down'), [
        leaf(t, Buffer.byteLength(text), TEXT_TYPE, 'inline'),
        leaf(d, ATTACHMENT, 'application/octet-stream', 'attachment; filename="x.bin"')]);
      await eventually(async () => (await stateAt(alice, sent, 'example.net')).state === 'transferred',
        'the transfer');
      await eventually(() => /fetch \d+ to example\.com, attempt \d+: token exchange at the own AS: .*will retry/
        .test(fed.mbx.net.log) || /fetch \d+ to example\.com, attempt \d+: the own AS: .*will retry/
        .test(fed.mbx.net.log), 'a fetch retried for want of a token');
      assert.equal((await stateAt(alice, sent, 'example.net')).state, 'transferred');
      await fed.as.net.start();
      await eventually(async () => (await stateAt(alice, sent, 'example.net')).state === 'fetched',
        'fetched once bob\'s AS is back');
      // "fetched" is recorded as the origin starts serving: the bytes land a moment later
      const got = await eventually(() => bob.download(d), 'the attachment at bob\'s MBX');
      assert.ok(got.equals(att));
    } finally {
      if (fed.as.net.proc.exitCode !== null || fed.as.net.proc.signalCode !== null) await fed.as.net.start();
    }
  });

  test('alice\'s AS down while bob\'s MBX has not its keys: the transfer is retried until it is back',
    async () => {
      // bob's MBX down while alice sends, then up with an empty cache and alice's AS gone
      await fed.mbx.net.stop();
      const sent = await sendText(alice, BOB, 'Sender AS down');
      await fed.as.com.stop();
      try {
        await fed.mbx.net.start();
        const queued = await eventually(async () => {
          const d = await stateAt(alice, sent, 'example.net');
          return d.state === 'queued' && /transfer refused: 5\d\d|discovery/.test(d.reason ?? '') ? d : null;
        }, 'a transfer refused for now');
        log(`sender's AS down: ${queued.reason}`);
        assert.equal(await arrived(bob, sent), false);
        await fed.as.com.start();
        await eventually(() => arrived(bob, sent), 'the message at bob once alice\'s AS is back');
      } finally {
        if (fed.as.com.proc.exitCode !== null || fed.as.com.proc.signalCode !== null) await fed.as.com.start();
      }
      auditBoth(fed);
    });
});
