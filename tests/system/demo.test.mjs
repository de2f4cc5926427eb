// `make demo`'s script, scripts/demo.sh, run as CI would run it: with
// --check it makes the CA, starts dnsmasq and the six servers of the three
// domains, checks discovery through DNS, the webmail sign-in of each user
// and a message alice@example.com -> bob@example.net, then stops everything
// and exits 0. Run again over the same folder, it keeps the CA, keys, users
// and mail: bob still has the first run's message. Without --check it keeps
// running until SIGTERM. Either way no process it started may be left
// behind. Ports are free ones and the folder a temporary one, so a demo
// running on this machine is not in the way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FZ_BIN } from './lib/index.mjs';

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

// True when a TCP port can be bound on 127.0.0.1 now.
function tcpFree(port) {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once('error', () => ok(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => ok(true)));
  });
}

// The first of n consecutive TCP ports free on 127.0.0.1 now, for the six
// servers (FZ_DEMO_PORT and the five after it), away from the default 8443.
async function freePortRange(n) {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let free = true;
    for (let i = 0; i < n && free; i++) free = await tcpFree(base + i);
    if (free) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
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

// A new temporary state folder and its own ports.
async function demoSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'fz-demo-'));
  dirs.push(dir);
  return { dir, port: await freePortRange(6), dnsPort: await freeUdpPort() };
}

// Starts the script; resolves { child, output (a getter), exited }.
async function startDemo(args, { setup, deliveryTimeout }) {
  const { dir, port, dnsPort } = setup ?? await demoSetup();
  const env = {
    ...process.env,
    FZ_BIN,
    DEMO_DIR: dir,
    FZ_DEMO_PORT: String(port),
    FZ_DEMO_DNS_PORT: String(dnsPort),
    FZ_DEMO_DELIVERY_TIMEOUT: String(deliveryTimeout),
  };
  delete env.FZ_DEMO_DIR;
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

// The six servers' ports: the Mailboxes at FZ_DEMO_PORT and the next two,
// the ASes after them; their names are under .localhost.
function urls(port) {
  const base = Number(port);
  const out = {};
  DOMAINS.forEach((d, i) => {
    out[d] = { mbx: `https://mbx.${d}.localhost:${base + i}/`, as: `https://as.${d}.localhost:${base + 3 + i}/` };
  });
  return out;
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function assertStarted(out, port) {
  assert.match(out, /dnsmasq on 127\.0\.0\.1:\d+/);
  const u = urls(port);
  for (const d of DOMAINS) {
    assert.match(out, new RegExp(`as\\.${esc(d)}\\s+${esc(u[d].as)} \\(pid`));
    assert.match(out, new RegExp(`mbx\\.${esc(d)}\\s+${esc(u[d].mbx)} \\(pid`));
    // discovery from the SRV records alone reached both servers, on 127.0.0.1
    assert.match(out, new RegExp(`discovery\\s+${esc(d)}: AS ${esc(u[d].as)} and MBX ${esc(u[d].mbx)} \\(127\\.0\\.0\\.1\\)`));
    // each domain's webmail URL, printed before "federation ready"
    assert.match(out, new RegExp(`^  webmail  ${esc(u[d].mbx)} `, 'm'));
  }
  for (const user of ['alice@example.com', 'bob@example.net', 'bobby@example.org']) {
    assert.match(out, new RegExp(`sign-in\\s+${esc(user)}: PKCE login`));
  }
  assert.match(out, /alice@example\.com \/ alice-demo/);
  // sending through the APP API was tried, and its outcome told
  assert.match(out, /send\s+(202|501):/);
  assert.match(out, /^(federation ready|demo ready: .*)$/m);
  assert.ok(out.lastIndexOf('  webmail  ') < out.indexOf('federation ready'), 'the URLs come first');
}

// What a --check run must show besides assertStarted.
function assertDelivered(demo, { code, signal }) {
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
}

test('demo.sh --check starts the three domains, delivers across them and stops everything; a second run keeps the mail', { timeout: 180_000 }, async () => {
  // With the MTA worker running, a message that only sits queued is a failure.
  const setup = await demoSetup();
  const first = await startDemo(['--check'], { setup, deliveryTimeout: 30 });
  assertDelivered(first, await first.exited);
  const out1 = first.output;
  assert.match(out1, /\(new\)$/m);
  assert.match(out1, /registered at https:\/\/as\.example\.net\.localhost:\d+\/: bob@example\.net webmail mta\.example\.net/);
  const [, mid] = out1.match(/send\s+draft (<[^>]+>) from alice@example\.com to bob@example\.net/);
  const ca = readFileSync(join(setup.dir, 'ca.pem'));
  const mta = readFileSync(join(setup.dir, 'example.com/mta.pem'));

  // The same folder again: the state is reused, and bob's inbox still
  // holds the first run's message with its text (database and blobs).
  const second = await startDemo(['--check'], { setup, deliveryTimeout: 30 });
  assertDelivered(second, await second.exited);
  const out2 = second.output;
  assert.match(out2, /\(kept\)$/m);
  assert.match(out2, /pki\s+CA .* and the six certificates kept/);
  for (const d of DOMAINS) assert.match(out2, new RegExp(`${esc(d)}\\s+users, webmail and mta\\.${esc(d)} kept`));
  assert.match(out2, new RegExp(`kept\\s+${esc(mid)} Hello Bob, this is the Federizer demo's self-check, sent `), out2);
  assert.match(out2, /sign-in\s+bob@example\.net: PKCE login at as\.example\.net\.localhost, [1-9]\d* messages/);
  assert.ok(readFileSync(join(setup.dir, 'ca.pem')).equals(ca), 'the CA is kept');
  assert.ok(readFileSync(join(setup.dir, 'example.com/mta.pem')).equals(mta), 'the MTA key is kept');
  // the second run's own message is another one
  const [, mid2] = out2.match(/send\s+draft (<[^>]+>) from/);
  assert.notEqual(mid2, mid);
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
    // the banner: the state folder and the chromium command, which needs
    // no host mapping (*.localhost is loopback to chromium)
    assert.match(out, new RegExp(`CA\\s+${esc(join(demo.dir, 'ca.pem'))}`));
    assert.doesNotMatch(out, /--host-resolver-rules/);
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
