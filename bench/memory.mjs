// Memory (issue #8, benchmark 5): what one more queued message and one
// more idle connection cost the MBX, from its VmRSS.
// - queued: Alice sends QUEUED messages to Bob with no MTA worker
//   running (queue.workers 0), so every one stays queued at MBX1;
//   (RSS after - RSS before) / QUEUED, after a warm-up of 100 sends.
// - idle: CONNS TLS connections opened to MBX1 (handshake done, no
//   request), held open; (RSS with them - RSS before) / CONNS.
//
//   node bench/memory.mjs [--queued 2000] [--conns 1000]
// prints mem_per_queued_msg_kib=<n> and mem_per_idle_conn_kib=<n>
import { connect } from 'node:tls';
import { parseArgs } from 'node:util';

import { federation, figure, memKiB, pool, sendOne } from './lib.mjs';

const { values: o } = parseArgs({ options: {
  queued: { type: 'string', default: '2000' },
  conns: { type: 'string', default: '1000' },
} });
const queued = Number(o.queued);
const conns = Number(o.conns);
const settle = () => new Promise((ok) => setTimeout(ok, 500));

const fed = await federation({ workers: 0 });
const sockets = [];
let ok = false;
try {
  const pid = fed.mbx.com.proc.pid;
  await pool(100, 32, (i) => sendOne(fed, 1e6 + i));
  await settle();
  const rss0 = memKiB(pid);
  await pool(queued, 32, (i) => sendOne(fed, i));
  await settle();
  const rss1 = memKiB(pid);
  const url = new URL(fed.mbx.com.baseUrl);
  for (let i = 0; i < conns; i++) {
    sockets.push(await new Promise((done, fail) => {
      const s = connect({ host: '127.0.0.1', port: Number(url.port), servername: url.hostname,
        ca: fed.env.pki.caPem }, () => done(s));
      s.on('error', fail);
    }));
  }
  await settle();
  const rss2 = memKiB(pid);
  console.log(`memory: MBX1 VmRSS ${(rss0 / 1024).toFixed(1)} MiB, ${(rss1 / 1024).toFixed(1)} MiB with ` +
    `${queued} more queued, ${(rss2 / 1024).toFixed(1)} MiB with ${conns} idle TLS connections more`);
  figure('mem_per_queued_msg_kib', (rss1 - rss0) / queued, 2);
  figure('mem_per_idle_conn_kib', (rss2 - rss1) / conns, 2);
  ok = true;
} finally {
  for (const s of sockets) s.destroy();
  const logs = await fed.cleanup();
  if (!ok) console.error(logs.split('\n').slice(-30).join('\n'));
}
