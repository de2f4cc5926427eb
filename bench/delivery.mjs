// Delivery (issue #8, benchmark 1 and the throughput of 5): COUNT
// messages of a 1 KiB inline text body from alice@example.com to
// bob@example.net, CONCURRENCY at a time through the APP API (upload,
// draft, send: what the webmail does), timed from the first send until
// every message is visible in Bob's inbox, i.e. transferred, its body
// pushed, stored and committed at example.net. Production storage: WAL
// with synchronous=NORMAL, blobs fsynced; MBX_WORKERS MTA threads.
//
//   node bench/delivery.mjs --count 10000 --concurrency 32 [--workers 4]
// prints delivery_msgs_per_s=<n>
import { parseArgs } from 'node:util';

import { cpuOf, federation, figure, pool, sendOne, waitForBob } from './lib.mjs';

const { values: o } = parseArgs({ options: {
  count: { type: 'string', default: '10000' },
  concurrency: { type: 'string', default: '32' },
  workers: { type: 'string', default: '4' },
  name: { type: 'string', default: 'delivery_msgs_per_s' },
} });
const count = Number(o.count);
const fed = await federation({ workers: Number(o.workers) });
let ok = false;
try {
  // TLS connections the client opens: each costs a server a handshake
  let connects = 0;
  fed.fetch.agent.on('connect', () => { connects += 1; });
  const cpu0 = cpuOf(fed);
  const t0 = performance.now();
  const arrived = waitForBob(fed, count);
  await pool(count, Number(o.concurrency), (i) => sendOne(fed, i));
  const sent = performance.now();
  const t1 = await arrived;
  console.log(`delivery: ${count} messages, ${o.concurrency} senders, ${o.workers} MTA workers: ` +
    `sent in ${((sent - t0) / 1000).toFixed(2)} s, all in Bob's inbox after ${((t1 - t0) / 1000).toFixed(2)} s`);
  const cpu1 = cpuOf(fed);
  // which process bounds the run: CPU seconds each used during it
  console.log(`delivery: CPU seconds during the run: ${Object.keys(cpu1)
    .map((k) => `${k} ${(cpu1[k] - cpu0[k]).toFixed(1)}`).join(', ')}; ` +
    `client connections opened: ${connects}`);
  figure(o.name, count / ((t1 - t0) / 1000));
  ok = true;
} finally {
  const logs = await fed.cleanup();
  if (!ok) console.error(logs.split('\n').slice(-30).join('\n'));
}
