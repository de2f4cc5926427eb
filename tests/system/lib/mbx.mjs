// One `federizer mbx` for system tests, beside AsServer: its folder,
// certificate, mbx.yaml and process, started, awaited and stopped.
//
//   const mbx = await MbxServer.create(env, as, { name: 'mbx.example.com' });
//   await mbx.start();                    // resolves once metadata answers
//   const r = await env.fetch(mbx.url('/api/v1/sync'), { headers });
//   mbx.peakRssKiB();                     // VmHWM of the running process
//
// The MBX fetches its AS's metadata and keys over HTTPS by the AS's
// issuer host, with the system resolver: give the AS a name that
// resolves (AsServer.create(env, { name: 'localhost' })) or configure
// dns_server.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import YAML from 'yaml';

import { freePort, SLOWDOWN, spawnServer, stopServer, VALGRIND, waitFor } from './federizer.mjs';

const START_TIMEOUT_MS = 15000 * SLOWDOWN;

function merge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a?.[k] === 'object'
      ? merge(a[k], v) : v;
  }
  return out;
}

export class MbxServer {
  // as: the AsServer whose tokens it accepts; name: the host of its base
  // URL and certificate; config: keys merged over the defaults.
  static async create(env, as, { name = 'mbx.example.com', domains = ['example.com'],
    mtaClientId = 'mta.example.com', config = {} } = {}) {
    const port = await freePort();
    const dir = join(env.dir, name);
    const tls = env.pki.issue(name, [name]);
    const cfg = merge({
      base_url: `https://${name}:${port}/`,
      listen: `127.0.0.1:${port}`,
      tls,
      database: join(dir, 'mbx.db'),
      blobs: join(dir, 'blobs'),
      domains,
      authorization_server: as.issuer,
      mta: { client_id: mtaClientId },
      ca_file: env.pki.caFile,
      limits: { threads: 4, long_poll_max_waiters: 2 },
    }, config);
    const s = new MbxServer(env, dir, cfg);
    s.as = as;
    env.servers.push(s);
    // Every answer the tests get from this MBX through env.fetch is
    // checked against api/mbx.yaml (contract.mjs).
    env.fetch.contracts?.set(new URL(cfg.base_url).origin, 'mbx');
    return s;
  }

  constructor(env, dir, cfg) {
    this.env = env;
    this.dir = dir;
    this.cfg = cfg;
    this.baseUrl = cfg.base_url;
    this.blobs = cfg.blobs;
    this.log = '';
    this.proc = null;
    mkdirSync(dir, { recursive: true });
    this.configFile = join(dir, 'mbx.yaml');
    writeFileSync(this.configFile, YAML.stringify(cfg));
  }

  url(path) {
    return new URL(path, this.baseUrl).href;
  }

  // Makes the MBX's MTA a confidential client of its AS, as an operator
  // would: an ES256 private_key_jwt key written to mta.pem (mode 0600),
  // its public JWKS registered with `admin client add <mta.client_id>
  // --confidential --jwks-file ... --sibling-of <base_url>`, and
  // mta.dpop_key named (the MBX makes that file on its first start).
  // Call before start(); the AS's database must exist (any admin call).
  async registerMta() {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = await jose.exportJWK(publicKey);
    jwk.kid = await jose.calculateJwkThumbprint(jwk);
    Object.assign(jwk, { alg: 'ES256', use: 'sig' });
    const key = join(this.dir, 'mta.pem');
    const jwks = join(this.dir, 'mta-jwks.json');
    writeFileSync(key, await jose.exportPKCS8(privateKey), { mode: 0o600 });
    writeFileSync(jwks, JSON.stringify({ keys: [jwk] }));
    this.as.adminOk(['client', 'add', this.cfg.mta.client_id, '--confidential',
      '--jwks-file', jwks, '--sibling-of', this.baseUrl]);
    this.cfg.mta = { ...this.cfg.mta, key, dpop_key: join(this.dir, 'mta-dpop.pem') };
    writeFileSync(this.configFile, YAML.stringify(this.cfg));
    return { kid: jwk.kid, publicJwk: jwk };
  }

  // Starts `federizer mbx` and resolves once its RFC 9728 metadata answers.
  async start() {
    spawnServer(this, ['mbx', '-c', this.configFile]);
    let gone = null;
    this.exited.then((e) => { gone = e; });
    await waitFor(async () => {
      if (gone) throw new Error(`federizer mbx exited (${gone.code ?? gone.signal}): ${this.log}`);
      const r = await this.env.fetch(this.url('/.well-known/oauth-protected-resource'));
      await r.arrayBuffer();
      return r.status === 200;
    }, START_TIMEOUT_MS, `${this.baseUrl} to answer`).catch((e) => {
      throw new Error(`${e.message}\n--- server log ---\n${this.log}`);
    });
  }

  // Peak resident memory of the running process (VmHWM), in KiB.
  peakRssKiB() {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  }

  // True when the binary runs under AddressSanitizer, whose shadow
  // memory makes RSS figures meaningless, or under valgrind.
  sanitized() {
    return VALGRIND || /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${this.proc.pid}/maps`, 'utf8'));
  }

  signal(sig) {
    this.proc?.kill(sig);
  }

  // As AsServer.stop(): throws on a sanitizer or valgrind report.
  stop() {
    return stopServer(this);
  }
}
