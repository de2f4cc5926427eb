// `make demo`'s federation for the browser tests: scripts/demo.sh in its
// run mode, in a temporary state folder and on ports of its own (so a
// demo someone is running, or another test, is not in the way), until
// it prints `federation ready`; stop() sends it SIGTERM, and its trap
// stops the seven processes it started.
//
//   const demo = await startDemo();
//   demo.webmail['example.com']          // https://mbx.example.com.localhost:PORT/
//   demo.password['alice@example.com']
//   demo.certs                           // the six servers' certificates, to pin
//   demo.readyAt                         // Date.now() at `federation ready`
//   await demo.stop();                   // { code, signal, output }
//
// Needs $FZ_BIN (default build/src/cmd/federizer) and web/dist.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { WEB_DIST } from './servers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEMO_SCRIPT = join(root, 'scripts/demo.sh');
export const DEMO_DOMAINS = ['example.com', 'example.net', 'example.org'];
// The users and passwords demo.sh makes (README, "The demo").
export const DEMO_PASSWORD = {
  'alice@example.com': 'alice-demo',
  'bob@example.net': 'bob-demo',
  'bobby@example.org': 'bobby-demo',
};
const READY_TIMEOUT = 120_000;

function tcpFree(port) {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once('error', () => ok(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => ok(true)));
  });
}

// The first of n consecutive TCP ports free on 127.0.0.1 now.
export async function freePortRange(n) {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let free = true;
    for (let i = 0; i < n && free; i++) free = await tcpFree(base + i);
    if (free) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

// A UDP port free on 127.0.0.1 now, for dnsmasq.
export function freeUdpPort() {
  return new Promise((ok, fail) => {
    const sock = createSocket('udp4');
    sock.on('error', fail);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => ok(port));
    });
  });
}

export async function startDemo({ deliveryTimeout = 30 } = {}) {
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    throw new Error(`${WEB_DIST}/index.html is missing: run "npm run build" in web/ first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'fz-fed-'));
  const port = await freePortRange(6);
  const env = {
    ...process.env,
    DEMO_DIR: dir,
    FZ_DEMO_PORT: String(port),
    FZ_DEMO_DNS_PORT: String(await freeUdpPort()),
    FZ_DEMO_DELIVERY_TIMEOUT: String(deliveryTimeout),
  };
  delete env.FZ_DEMO_DIR;
  const child = spawn(DEMO_SCRIPT, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let readyAt = null;
  const onData = (d) => {
    output += d;
    if (readyAt === null && /^federation ready$/m.test(output)) readyAt = Date.now();
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
  // should the test process end early, the script's trap still stops all
  const onExit = () => child.kill('SIGTERM');
  process.on('exit', onExit);
  exited.then(() => process.off('exit', onExit));

  const end = Date.now() + READY_TIMEOUT;
  while (readyAt === null && child.exitCode === null && child.signalCode === null && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (readyAt === null) {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`demo.sh did not reach "federation ready":\n${output}`);
  }

  const webmail = {};
  const as = {};
  DEMO_DOMAINS.forEach((d, i) => {
    webmail[d] = `https://mbx.${d}.localhost:${port + i}/`;
    as[d] = `https://as.${d}.localhost:${port + 3 + i}/`;
  });
  const certs = DEMO_DOMAINS.flatMap((d) => [join(dir, d, 'mbx.crt'), join(dir, d, 'as.crt')]);
  return {
    dir,
    env,
    webmail,
    as,
    certs,
    password: DEMO_PASSWORD,
    readyAt,
    get output() { return output; },
    // SIGTERM; resolves the script's exit and its whole output.
    async stop() {
      child.kill('SIGTERM');
      const exit = await exited;
      rmSync(dir, { recursive: true, force: true });
      return { ...exit, output };
    },
  };
}
