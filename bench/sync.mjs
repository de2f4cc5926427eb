// Sync poll throughput: wrk (2 threads, 64 keep-alive connections, HTTPS,
// 10 s) on GET /api/v1/sync?since=<current> with a valid token, against a
// real AS + MBX started with the system-test harness. A first figure for
// the benchmarks issue; not a test. Needs wrk (Debian package). The MBX
// limits are lifted because all the load comes from one address.
//
//   node bench/sync.mjs            # FZ_BIN picks the binary
import { execFileSync } from 'node:child_process';
import { AsServer, makeTestEnv } from '../tests/system/lib/index.mjs';
import { loginWithPkce } from '../tests/system/lib/login.mjs';
import { MbxServer } from '../tests/system/lib/mbx.mjs';

const SECONDS = Number(process.env.SECONDS ?? 10);
const PW = 'correct horse battery';

const env = await makeTestEnv('fz-bench-sync-');
try {
  const as = await AsServer.create(env, { name: 'localhost' });
  // The load comes from one address: lift the per-address rate limit.
  const mbx = await MbxServer.create(env, as, {
    config: { access_log: false, limits: { rate_per_ip: 1000000, rate_burst: 1000000, per_ip_connections: 1024, threads: 4 } },
  });
  as.adminOk(['user', 'add', 'alice@example.com'], { input: `${PW}\n` });
  as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.url('/')]);
  await as.start();
  await mbx.start();
  const tok = await loginWithPkce(env, as, {
    clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username: 'alice@example.com', password: PW,
  });
  const auth = { authorization: `Bearer ${tok.access_token}` };
  const first = await (await env.fetch(mbx.url('/api/v1/sync'), { headers: auth })).json();
  const url = new URL(mbx.url(`/api/v1/sync?since=${encodeURIComponent(first.state)}`));
  url.hostname = '127.0.0.1';
  const out = execFileSync('wrk', ['-t2', '-c64', `-d${SECONDS}s`, '--latency',
    '-H', `Authorization: Bearer ${tok.access_token}`, '-H', `Host: ${new URL(mbx.url('/')).host}`,
    url.href], { encoding: 'utf8' });
  process.stdout.write(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  console.log(`sync_rps=${rps}`);
} finally {
  await env.cleanup();
}
