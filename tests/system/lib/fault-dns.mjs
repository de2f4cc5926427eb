// A DNS server the fault tests can kill: dnsmasq with the arguments of
// lib/dns.mjs, but a process handle that takes kill -9 and a restart on
// the same port, and a short TTL so that an outage is seen by resolvers
// whose caches are set short too. Pass it to startFederation:
//
//   const fed = await startFederation('fz-x-', { startDns: killableDns({ ttl: 1 }) });
//   fed.dns.kill('SIGKILL'); await fed.dns.exited;
//   await fed.dns.start();          // the same records on the same port
import { spawn } from 'node:child_process';

import { LOCAL_ZONES, answers, dnsmasqPath } from './dns.mjs';
import { waitFor } from './federizer.mjs';

const START_TIMEOUT_MS = 10000;

function argsOf({ port, srv, hosts }, ttl) {
  const args = ['--keep-in-foreground', '--conf-file=/dev/null', '--pid-file=', '--no-resolv',
    '--no-hosts', '--no-poll', `--port=${port}`, '--listen-address=127.0.0.1',
    '--bind-interfaces', `--local-ttl=${ttl}`, ...LOCAL_ZONES.map((z) => `--local=/${z}/`)];
  // root would drop to "nobody", which a container may not allow
  if (process.getuid?.() === 0) args.push('--user=root');
  for (const [name, target, p, prio = 10, weight = 5] of srv) {
    args.push(`--srv-host=${name},${target},${p},${prio},${weight}`);
  }
  for (const h of hosts) args.push(`--host-record=${h},127.0.0.1`);
  return args;
}

// A startDns for startFederation: ttl is dnsmasq's --local-ttl.
export function killableDns({ ttl = 600 } = {}) {
  return async (spec) => {
    const dns = {
      server: `127.0.0.1:${spec.port}`,
      proc: null,
      exited: null,
      log: '',
      running() {
        return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
      },
      kill(sig) {
        this.proc?.kill(sig);
      },
      async start() {
        const proc = spawn(dnsmasqPath(), argsOf(spec, ttl), { stdio: ['ignore', 'ignore', 'pipe'] });
        const onExit = () => proc.kill('SIGKILL');
        let gone = null;
        this.proc = proc;
        proc.stderr.on('data', (d) => { this.log += d; });
        process.on('exit', onExit);
        this.exited = new Promise((ok) => proc.on('exit', (code, signal) => {
          process.off('exit', onExit);
          gone = { code, signal };
          ok(gone);
        }));
        // the port of a killed one may take a moment to be free again
        await waitFor(async () => {
          if (gone) throw new Error(`dnsmasq exited (${gone.code ?? gone.signal}): ${this.log}`);
          return answers(spec.port, spec.hosts[0] ?? 'example.com');
        }, START_TIMEOUT_MS, 'dnsmasq to answer');
      },
      async stop() {
        if (!this.running()) return this.exited;
        this.proc.kill('SIGTERM');
        return this.exited;
      },
    };
    await dns.start();
    return dns;
  };
}
