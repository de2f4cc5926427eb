// The nginx anchor of the pull and sync benchmarks: a private nginx
// (its own prefix, config, pid and logs; loopback port; the Debian
// package's binary, which bootstrap.sh bench installs) serving root over
// HTTPS with a certificate of the test CA, as a production static server
// would: sendfile, keep-alive, one worker per core, no access log.
//
//   const ngx = await startNginx(env, root);   // ngx.url('/big.bin')
//   await ngx.stop();
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { freePort, waitFor } from '../tests/system/lib/index.mjs';

export async function startNginx(env, root, { name = 'static.example.com' } = {}) {
  const port = await freePort();
  const dir = join(env.dir, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  // the workers run as an unprivileged user: root must be reachable
  chmodSync(env.dir, 0o711);
  chmodSync(root, 0o755);
  const tls = env.pki.issue(name, [name]);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
worker_processes auto;
daemon on;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/json json; application/octet-stream bin; }
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${name};
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    root ${root};
  }
}
`);
  const run = (args) => spawnSync('nginx', ['-p', dir, '-c', conf, ...args], { encoding: 'utf8' });
  const r = run([]);
  if (r.status !== 0) throw new Error(`nginx: ${r.stderr}`);
  const url = (p) => `https://${name}:${port}${p}`;
  await waitFor(async () => (await env.fetch(url('/'))).status > 0, 10000, 'nginx');
  const pid = () => Number(readFileSync(join(dir, 'nginx.pid'), 'utf8'));
  return {
    url, port, name,
    async stop() {
      const master = pid();
      run(['-s', 'stop']);
      await waitFor(() => { try { process.kill(master, 0); return false; } catch { return true; } },
        10000, 'nginx to stop');
    },
  };
}
