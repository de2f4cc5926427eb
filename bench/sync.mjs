// Sync poll (issue #8, benchmark 3): wrk (2 threads, 64 keep-alive
// connections, HTTPS, SECONDS s) on GET /api/v1/sync?since=<current>
// with a valid token, against a real AS + MBX started with the
// system-test harness; the answer is the empty change set a polling
// client gets almost every time. The MBX's per-address limits are lifted
// because all the load comes from one address.
//
// --anchor: the same wrk against nginx serving a 200-byte JSON file
// over HTTPS (bench/nginx.mjs).
//
//   node bench/sync.mjs [--anchor] [--seconds 10] [--threads 4]
// prints sync_rps=<n> or nginx_rps=<n>. Needs wrk (Debian package).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { AsServer, makeTestEnv } from '../tests/system/lib/index.mjs';
import { loginWithPkce } from '../tests/system/lib/login.mjs';
import { MbxServer } from '../tests/system/lib/mbx.mjs';
import { LIFTED, figure } from './lib.mjs';
import { startNginx } from './nginx.mjs';

const { values: o } = parseArgs({ options: {
  anchor: { type: 'boolean', default: false },
  seconds: { type: 'string', default: '10' },
  threads: { type: 'string', default: '4' },
} });
const PW = 'correct horse battery';

function wrk(url, headers, name) {
  const args = ['-t2', '-c64', `-d${o.seconds}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  process.stdout.write(out.split('\n').map((l) => `  ${l}`).join('\n').trimEnd() + '\n');
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  if (bad || !(rps > 0)) throw new Error(`wrk: ${bad ?? 0} bad answers; ${errors ?? ''}`);
  figure(name, rps);
}

const env = await makeTestEnv('fz-bench-sync-');
try {
  if (o.anchor) {
    const root = join(env.dir, 'www');
    mkdirSync(root);
    // 200 bytes of JSON, about what an empty sync answer is
    const doc = { state: 'x'.repeat(24), changed: [], destroyed: [], inline: {}, more: false };
    doc.pad = '';
    doc.pad = 'p'.repeat(200 - JSON.stringify(doc).length);
    writeFileSync(join(root, 'sync.json'), JSON.stringify(doc));
    chmodSync(join(root, 'sync.json'), 0o644);
    const ngx = await startNginx(env, root);
    try {
      console.log('sync poll anchor: wrk -t2 -c64 on nginx, a 200-byte JSON file over HTTPS');
      wrk(`https://127.0.0.1:${ngx.port}/sync.json`, [], 'nginx_rps');
    } finally {
      await ngx.stop();
    }
  } else {
    const as = await AsServer.create(env, { name: 'localhost', config: { access_log: false } });
    const mbx = await MbxServer.create(env, as, {
      config: { access_log: false, limits: { ...LIFTED, threads: Number(o.threads) } },
    });
    as.adminOk(['user', 'add', 'alice@example.com'], { input: `${PW}\n` });
    as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
      '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.url('/')]);
    await as.start();
    await mbx.start();
    const tok = await loginWithPkce(env, as, {
      clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username: 'alice@example.com', password: PW,
    });
    const auth = `Bearer ${tok.access_token}`;
    const first = await (await env.fetch(mbx.url('/api/v1/sync'), { headers: { authorization: auth } })).json();
    const url = new URL(mbx.url(`/api/v1/sync?since=${encodeURIComponent(first.state)}`));
    url.hostname = '127.0.0.1';
    console.log(`sync poll: wrk -t2 -c64 on GET /api/v1/sync?since=<current>, MBX threads ${o.threads}`);
    wrk(url.href, [`Authorization: ${auth}`, `Host: ${new URL(mbx.url('/')).host}`], 'sync_rps');
  }
} finally {
  await env.cleanup();
}
