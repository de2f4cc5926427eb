// Running the real `federizer` binary in system tests: a scratch folder
// with its own PKI, free ports, configuration files, `federizer admin`
// commands, and servers started, awaited and stopped. The binary is
// $FZ_BIN, else build/src/cmd/federizer of this checkout.
//
//   const env = await makeTestEnv('fz-as-');       // temp dir, CA, fetch
//   const as = await AsServer.create(env, { name: 'as.example.com' });
//   as.adminOk(['user', 'add', 'alice@example.com'], { input: 'password1\n' });
//   await as.start();                              // resolves once it answers
//   const r = await env.fetch(as.url('/jwks'));
//   await env.cleanup();                           // stops servers, removes dir
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

import { makeFetch } from './net.mjs';
import { makePki } from './pki.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FZ_BIN = resolve(process.env.FZ_BIN ?? join(root, 'build/src/cmd/federizer'));

const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;

// Children still running when node exits are killed, so a failed test
// leaves no server behind.
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

// A TCP port free on 127.0.0.1 right now.
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

// Runs `federizer ...args` to completion: { status, stdout, stderr }.
export function runFederizer(args, { input, cwd } = {}) {
  const r = spawnSync(FZ_BIN, args, { input: input ?? '', cwd, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Deep merge of plain objects; arrays and scalars of b replace a's.
function merge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a?.[k] === 'object'
      ? merge(a[k], v) : v;
  }
  return out;
}

// A scratch folder with a test CA, and a fetch that trusts it.
// cleanup() stops every server made in it and removes the folder.
export async function makeTestEnv(prefix = 'fz-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const pki = makePki(dir);
  const fetch = makeFetch({ ca: pki.caPem });
  const servers = [];
  return {
    dir,
    pki,
    fetch,
    servers,
    async cleanup() {
      await Promise.all(servers.map((s) => s.stop()));
      await fetch.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Waits until check() resolves truthy, or throws after ms.
export async function waitFor(check, ms = START_TIMEOUT_MS, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// One `federizer as`: its folder, certificate, configuration and process.
export class AsServer {
  // name: the host of the issuer and certificate; domains: the users'
  // domains; config: keys merged over the defaults written to as.yaml.
  static async create(env, { name = 'as.example.com', domains = ['example.com'], config = {} } = {}) {
    const port = await freePort();
    const dir = join(env.dir, name);
    const tls = env.pki.issue(name, [name]);
    const issuer = `https://${name}:${port}/`;
    const cfg = merge({
      issuer,
      listen: `127.0.0.1:${port}`,
      tls,
      database: join(dir, 'as.db'),
      keys: { dir: join(dir, 'keys') },
      domains,
      ca_file: env.pki.caFile,
      limits: { threads: 2 },
    }, config);
    const s = new AsServer(env, dir, cfg);
    env.servers.push(s);
    // Every answer the tests get from this AS is checked against api/as.yaml.
    env.fetch.contracts?.set(new URL(cfg.issuer).origin, 'as');
    return s;
  }

  constructor(env, dir, cfg) {
    this.env = env;
    this.dir = dir;
    this.cfg = cfg;
    this.issuer = cfg.issuer;
    this.log = '';
    this.proc = null;
    mkdirSync(dir, { recursive: true });
    this.configFile = join(dir, 'as.yaml');
    writeFileSync(this.configFile, YAML.stringify(cfg));
  }

  // An absolute URL on this server.
  url(path) {
    return new URL(path, this.issuer).href;
  }

  // `federizer admin -c as.yaml ...args`: { status, stdout, stderr }.
  admin(args, opts) {
    return runFederizer(['admin', '-c', this.configFile, ...args], opts);
  }

  // As admin, throwing with stderr unless it exits 0; returns stdout.
  adminOk(args, opts) {
    const r = this.admin(args, opts);
    if (r.status !== 0) throw new Error(`admin ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  // Starts `federizer as` and resolves once the metadata answers 200.
  async start() {
    const proc = spawn(FZ_BIN, ['as', '-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    children.add(proc);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((ok) => proc.on('exit', (code, signal) => {
      children.delete(proc);
      ok({ code, signal });
    }));
    let gone = null;
    this.exited.then((e) => { gone = e; });
    await waitFor(async () => {
      if (gone) throw new Error(`federizer as exited (${gone.code ?? gone.signal}): ${this.log}`);
      const r = await this.env.fetch(this.url('/.well-known/oauth-authorization-server'));
      await r.arrayBuffer();
      return r.status === 200;
    }, START_TIMEOUT_MS, `${this.issuer} to answer`).catch((e) => {
      throw new Error(`${e.message}\n--- server log ---\n${this.log}`);
    });
  }

  // Sends a signal (SIGHUP reloads the keys).
  signal(sig) {
    this.proc?.kill(sig);
  }

  // SIGTERM, then waits; SIGKILL after STOP_TIMEOUT_MS. Resolves to
  // { code, signal } of the exit (null when it was not running).
  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) {
      return this.exited ? this.exited : null;
    }
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }
}
