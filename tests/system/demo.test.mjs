// `make demo`'s script, scripts/demo.sh, run as CI would run it: with
// --check it makes the CA, starts dnsmasq and the six servers of the three
// domains, checks discovery through DNS, the webmail sign-in of each user
// and a message alice@example.com -> bob@example.net, then stops everything
// and exits 0. Without --check it keeps running until SIGTERM. Either way
// no process it started may be left behind. Ports are free ones and the
// folder a temporary one, so a demo running on this machine is not in the way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FZ_BIN, freePort } from './lib/index.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(root, 'scripts/demo.sh');
const DOMAINS = ['example.com', 'example.net', 'example.org'];
const dirs = [];

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// A UDP port free on 127.0.0.1 now, for dnsmasq.
function freeUdpPort() {
  return new Promise((ok, fail) => {
    const sock = createSocket('udp4');
    sock.on('error', fail);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => ok(port));
    });
  });
}

// Processes whose command line names dir: the demo's servers all do
// (their configuration files are in it), and so does its dnsmasq.
function processesIn(dir) {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir) && !cmd.includes(SCRIPT)) found.push(`${pid} ${cmd}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

// Starts the script; resolves { child, output (a getter), exited }.
async function startDemo(args, { deliveryTimeout, requireDelivery = false }) {
  const dir = mkdtempSync(join(tmpdir(), 'fz-demo-'));
  dirs.push(dir);
  const env = {
    ...process.env,
    FZ_BIN,
    FZ_DEMO_DIR: dir,
    FZ_DEMO_PORT: String(await freePort()),
    FZ_DEMO_DNS_PORT: String(await freeUdpPort()),
    FZ_DEMO_DELIVERY_TIMEOUT: String(deliveryTimeout),
    FZ_DEMO_REQUIRE_DELIVERY: requireDelivery ? '1' : '0',
  };
  const child = spawn(SCRIPT, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
  const exited = new Promise((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
  // should the test fail before the end, the script's trap still stops all
  const onExit = () => child.kill('SIGTERM');
  process.on('exit', onExit);
  exited.then(() => process.off('exit', onExit));
  return { dir, env, child, exited, get output() { return output; } };
}

function assertStarted(out, port) {
  assert.match(out, /dnsmasq on 127\.0\.0\.1:\d+/);
  for (const d of DOMAINS) {
    assert.match(out, new RegExp(`as\\.${d}\\s+https://as\\.${d}:${port}/`));
    assert.match(out, new RegExp(`mbx\\.${d}\\s+https://mbx\\.${d}:${port}/`));
    // discovery from the SRV records alone reached both servers
    assert.match(out, new RegExp(`discovery\\s+${d}: AS https://as\\.${d}:${port}/ and MBX https://mbx\\.${d}:${port}/`));
  }
  for (const u of ['alice@example.com', 'bob@example.net', 'bobby@example.org']) {
    assert.match(out, new RegExp(`sign-in\\s+${u}: PKCE login`));
  }
  // sending through the APP API was tried, and its outcome told
  assert.match(out, /send\s+(202|501):/);
  assert.match(out, /^(federation ready|demo ready: .*)$/m);
}

test('demo.sh --check starts the three domains, delivers across them and stops everything', { timeout: 90_000 }, async () => {
  // With the MTA worker running, a message that only sits queued is a failure.
  const demo = await startDemo(['--check'], { deliveryTimeout: 30, requireDelivery: true });
  const { code, signal } = await demo.exited;
  const out = demo.output;
  assert.equal(code, 0, out);
  assert.equal(signal, null);
  assertStarted(out, demo.env.FZ_DEMO_PORT);
  assert.match(out, /^demo check passed$/m, out);
  // the message crossed domains: MBX2 pulled it from MBX1 and said so
  assert.match(out, /receive\s+bob's sync at mbx\.example\.net shows <[^>]+@example\.com> with its text, pulled from mbx\.example\.com/);
  assert.match(out, /status\s+alice's status: example\.net fetched/);
  assert.match(out, /^federation ready$/m);
  // every process exited 0 on its SIGTERM, and none is left
  assert.match(out, /^stopped all 7 processes$/m, out);
  assert.deepEqual(processesIn(demo.dir), []);
});

test('demo.sh runs until SIGTERM, then stops everything it started', { timeout: 90_000 }, async () => {
  const demo = await startDemo([], { deliveryTimeout: 3 });
  const end = Date.now() + 60_000;
  while (!/Press Ctrl-C/.test(demo.output) && demo.child.exitCode === null && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
  }
  let exit;
  try {
    const out = demo.output;
    assert.match(out, /Press Ctrl-C to stop everything/, out);
    assertStarted(out, demo.env.FZ_DEMO_PORT);
    // the banner: URLs, users and passwords, the chromium command
    assert.match(out, /alice@example\.com \/ alice-demo/);
    assert.match(out, /--host-resolver-rules='MAP as\.example\.com 127\.0\.0\.11, /);
    // six pins: base64 of 32 bytes each
    assert.match(out, /--ignore-certificate-errors-spki-list='([A-Za-z0-9+/]{43}=,){5}[A-Za-z0-9+/]{43}='/);
    assert.equal(processesIn(demo.dir).length, 7, processesIn(demo.dir).join('\n'));
  } finally {
    demo.child.kill('SIGTERM');
    exit = await demo.exited;
  }
  assert.equal(exit.code, 143, demo.output);
  assert.match(demo.output, /^stopped all 7 processes$/m, demo.output);
  assert.deepEqual(processesIn(demo.dir), []);
});
