// Running the real `federizer` binary in system tests: a scratch folder
// with its own PKI, free ports, configuration files, `federizer admin`
// commands, and servers started, awaited and stopped. The binary is
// $FZ_BIN, else build/src/cmd/federizer of this checkout.
//
// FZ_VALGRIND=1 runs every `federizer` process under valgrind memcheck
// (longer timeouts). A server or command whose stderr carries a
// sanitizer or valgrind report fails its test: stop() throws, and the
// test file exits non-zero (see noteReport).
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

export const VALGRIND = process.env.FZ_VALGRIND === '1';
// Memcheck runs code 20 to 50 times slower; servers mostly wait.
export const SLOWDOWN = VALGRIND ? 10 : 1;
const START_TIMEOUT_MS = 15000 * SLOWDOWN;
const STOP_TIMEOUT_MS = 10000 * SLOWDOWN;

// Exit code memcheck gives for an error or a definitely lost block.
const VALGRIND_ERROR_EXIT = 99;
const VALGRIND_ARGS = ['--tool=memcheck', '--quiet', '--leak-check=full',
  '--show-leak-kinds=definite', '--errors-for-leak-kinds=definite',
  `--error-exitcode=${VALGRIND_ERROR_EXIT}`, '--num-callers=30'];

// Children still running when node exits are killed, so a failed test
// leaves no server behind.
const children = new Set();
// Sanitizer and valgrind reports seen in this test file.
const reports = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  if (reports.length === 0) return;
  // A report fails the file even when no assertion looked at the log.
  process.stderr.write(`\n${reports.length} sanitizer/valgrind report(s):\n${reports.join('\n')}\n`);
  process.exitCode = 1;
});

// The command and arguments that run `federizer ...args`.
export function federizerCommand(args) {
  return VALGRIND ? ['valgrind', [...VALGRIND_ARGS, FZ_BIN, ...args]] : [FZ_BIN, args];
}

// The sanitizer or memcheck report in a process's stderr, or null.
// ASan, LSan and UBSan (built with -fno-sanitize-recover) print
// "ERROR: ...Sanitizer" or "runtime error:"; memcheck (--quiet) prints
// only its findings, each line led by ==PID==.
export function findReport(log, code) {
  const m = /ERROR: \w*Sanitizer|runtime error:|^==\d+== (?!Warning)\S/m.exec(log ?? '');
  if (m) return log.slice(log.lastIndexOf('\n', m.index) + 1);
  if (VALGRIND && code === VALGRIND_ERROR_EXIT) return `valgrind exit ${code}:\n${log}`;
  return null;
}

// Records the report of a finished process (what: its command line);
// returns the report or null.
export function noteReport(what, log, code) {
  const report = findReport(log, code);
  if (report) reports.push(`--- ${what} (exit ${code}) ---\n${report}`);
  return report;
}

// Spawns a server process, its stderr appended to server.log; sets
// server.proc and server.exited ({ code, signal }).
export function spawnServer(server, args) {
  const [cmd, argv] = federizerCommand(args);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  server.proc = proc;
  children.add(proc);
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { server.log += d; });
  server.exited = new Promise((ok) => proc.on('exit', (code, signal) => {
    children.delete(proc);
    server.report = noteReport(`federizer ${args.join(' ')}`, server.log, code);
    ok({ code, signal });
  }));
  return proc;
}

// SIGTERM, then waits; SIGKILL after the stop timeout. Resolves to
// { code, signal } of the exit (null when it never ran); throws when
// the process left a sanitizer or valgrind report.
export async function stopServer(server) {
  const { proc } = server;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await server.exited;
    clearTimeout(timer);
  }
  if (!server.exited) return null;
  const e = await server.exited;
  if (server.report) throw new Error(`federizer left a report:\n${server.report}`);
  return e;
}

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
  const [cmd, argv] = federizerCommand(args);
  const r = spawnSync(cmd, argv, { input: input ?? '', cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  noteReport(`federizer ${args.join(' ')}`, r.stderr, r.status);
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
    spawnServer(this, ['as', '-c', this.configFile]);
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

  // SIGTERM, then waits; SIGKILL after the stop timeout. Resolves to
  // { code, signal } of the exit (null when it never ran); throws on a
  // sanitizer or valgrind report.
  stop() {
    return stopServer(this);
  }
}
