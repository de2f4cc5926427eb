// Large pull (issue #8, benchmark 2): a SIZE-byte attachment (1 GiB by
// default) pulled MBX1 -> MBX2 over HTTPS by MBX2's MTA worker, hashed
// and stored durably (fsynced, then linked under its digest). Timed from
// Alice's send until the message is visible in Bob's inbox, which it is
// only once the attachment is stored at MBX2; the transfer and token
// exchange before the fetch are in the time too (milliseconds).
// pull_peak_rss_mib is the larger VmHWM of the two MBX processes over
// the transfer (the peak is reset through /proc/<pid>/clear_refs first,
// so the upload before it does not count).
//
// --anchor: nginx serves the same file over HTTPS to curl, which writes
// it to a file while sha256sum reads the stream, then the file is
// fsynced (coreutils sync FILE).
//
//   node bench/pull.mjs [--anchor] [--size 1073741824] [--file big.bin]
// prints pull_mb_per_s=<n> and pull_peak_rss_mib=<n>, or nginx_mb_per_s=<n>
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync, closeSync,
  copyFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

import { makeTestEnv } from '../tests/system/lib/index.mjs';
import { TIMEOUT_MS, api, federation, figure, memKiB, sendOne, waitForBob } from './lib.mjs';
import { startNginx } from './nginx.mjs';

const { values: o } = parseArgs({ options: {
  anchor: { type: 'boolean', default: false },
  size: { type: 'string', default: String(1 << 30) },
  file: { type: 'string' },
} });
const size = Number(o.size);
const MB = 1024 * 1024;

// The source file, made once (random bytes: nothing compresses).
function source() {
  const file = o.file ?? join(tmpdir(), `fz-bench-pull-${size}.bin`);
  if (existsSync(file) && statSync(file).size === size) return file;
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4 * MB);
  for (let left = size; left > 0; left -= buf.length) {
    randomFillSync(buf);
    writeSync(fd, buf, 0, Math.min(left, buf.length));
  }
  closeSync(fd);
  return file;
}

function sha256File(file) {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('end', () => ok(h.digest('hex')))
      .on('error', fail);
  });
}

async function anchor(file) {
  const env = await makeTestEnv('fz-bench-nginx-');
  try {
    const root = join(env.dir, 'www');
    mkdirSync(root);
    copyFileSync(file, join(root, 'big.bin'));
    chmodSync(join(root, 'big.bin'), 0o644);
    const ngx = await startNginx(env, root);
    const out = join(env.dir, 'pulled.bin');
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', 'set -o pipefail; curl -fsS --cacert "$1" --resolve "$2" "$3" | ' +
      'tee "$4" | sha256sum && sync "$4"', 'pull', env.pki.caFile,
    `${ngx.name}:${ngx.port}:127.0.0.1`, ngx.url('/big.bin'), out], { encoding: 'utf8' });
    const t1 = performance.now();
    await ngx.stop();
    if (r.status !== 0) throw new Error(`curl | sha256sum: ${r.stderr}`);
    if (r.stdout.split(' ')[0] !== await sha256File(file)) throw new Error('nginx: the digest differs');
    console.log(`pull (nginx -> curl | tee | sha256sum, sync): ${size} bytes in ${((t1 - t0) / 1000).toFixed(2)} s`);
    figure('nginx_mb_per_s', size / MB / ((t1 - t0) / 1000));
  } finally {
    await env.cleanup();
  }
}

// Resolves with performance.now() once check() is true.
async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 5));
  }
  return performance.now();
}

async function ours(file) {
  const fed = await federation({ workers: 1 });
  let ok = false;
  try {
    const body = Readable.toWeb(createReadStream(file, { highWaterMark: MB }));
    const up = await api(fed, 'com', '/api/v1/resources', fed.token.alice, { method: 'POST', body,
      duplex: 'half', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } });
    const pids = [fed.mbx.com.proc.pid, fed.mbx.net.proc.pid];
    const rss0 = pids.map((p) => memKiB(p));
    for (const p of pids) spawnSync('sh', ['-c', `echo 5 > /proc/${p}/clear_refs`]);
    const t0 = performance.now();
    await sendOne(fed, 0, { attachment: { digest: up.digest, size } });
    await waitForBob(fed, 1, { pollMs: 20 });
    // MBX2's MTA logs the fetch once the file is stored under its digest
    const done = new RegExp(`fetched ${up.digest} \\(${size} bytes\\)`);
    const t1 = await until(() => done.test(fed.mbx.net.log), TIMEOUT_MS, 'the fetch at MBX2');
    const hwm = pids.map((p) => memKiB(p, 'VmHWM'));
    console.log(`pull (MBX1 -> MBX2, HTTPS, hashed, fsynced): ${size} bytes in ` +
      `${((t1 - t0) / 1000).toFixed(2)} s; VmRSS before ${rss0.map((k) => (k / 1024).toFixed(1)).join('/')} MiB, ` +
      `VmHWM over the transfer MBX1 ${(hwm[0] / 1024).toFixed(1)} MiB, MBX2 ${(hwm[1] / 1024).toFixed(1)} MiB`);
    figure('pull_mb_per_s', size / MB / ((t1 - t0) / 1000));
    figure('pull_peak_rss_mib', Math.max(...hwm) / 1024);
    ok = true;
  } finally {
    const logs = await fed.cleanup();
    if (!ok) console.error(logs.split('\n').slice(-30).join('\n'));
  }
}

const file = source();
if (o.anchor) await anchor(file);
else await ours(file);
if (process.env.FZ_BENCH_KEEP_SOURCE === undefined && o.file === undefined && size < MB * 64) rmSync(file);
