// A real DNS server for system tests: dnsmasq on 127.0.0.1 and a free
// port, answering the SRV and A records given and NXDOMAIN for other
// names of the test domains, started the way tests/unit/test_discovery.c
// starts it. stop() ends it; so does the test process exiting.
//
//   const dns = await startDnsmasq({
//     srv: [['_federizer._as._tcp.example.com', 'as.example.com', 8443]],
//     hosts: ['as.example.com'] });
//   ... dns_server: dns.server ...
//   await dns.stop();
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, constants } from 'node:fs';

import { freePort, waitFor } from './federizer.mjs';

const SEARCH = ['/usr/sbin', '/sbin', '/usr/local/sbin', ...(process.env.PATH ?? '').split(':')];
export const LOCAL_ZONES = ['example.com', 'example.net', 'example.org'];

export function dnsmasqPath() {
  if (process.env.FZ_DNSMASQ) return process.env.FZ_DNSMASQ;
  for (const dir of SEARCH) {
    try {
      accessSync(`${dir}/dnsmasq`, constants.X_OK);
      return `${dir}/dnsmasq`;
    } catch { /* next */ }
  }
  throw new Error('dnsmasq not found (scripts/bootstrap.sh installs it)');
}

// A minimal DNS query for name type A over UDP: resolves true on any answer.
export function answers(port, name) {
  return new Promise((ok) => {
    const sock = createSocket('udp4');
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...labels, Buffer.from([0, 0, 1, 0, 1])]);
    const timer = setTimeout(() => { sock.close(); ok(false); }, 200);
    sock.on('message', () => { clearTimeout(timer); sock.close(); ok(true); });
    sock.on('error', () => { clearTimeout(timer); sock.close(); ok(false); });
    sock.send(q, port, '127.0.0.1');
  });
}

// srv: [service name, target, port, priority?, weight?]; hosts: names
// for 127.0.0.1; port: where to listen (a free one when absent), so a
// server's configuration can name it before dnsmasq starts.
export async function startDnsmasq({ srv = [], hosts = [], port } = {}) {
  port ??= await freePort();
  const args = ['--keep-in-foreground', '--conf-file=/dev/null', '--pid-file=', '--no-resolv',
    '--no-hosts', '--no-poll', `--port=${port}`, '--listen-address=127.0.0.1',
    '--bind-interfaces', '--local-ttl=600', ...LOCAL_ZONES.map((z) => `--local=/${z}/`)];
  // root would drop to "nobody", which a container may not allow
  if (process.getuid?.() === 0) args.push('--user=root');
  for (const [name, target, p, prio = 10, weight = 5] of srv) {
    args.push(`--srv-host=${name},${target},${p},${prio},${weight}`);
  }
  for (const h of hosts) args.push(`--host-record=${h},127.0.0.1`);
  const proc = spawn(dnsmasqPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let gone = null;
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((ok) => proc.on('exit', (code, sig) => { gone = code ?? sig; ok(); }));
  const onExit = () => proc.kill('SIGKILL');
  process.on('exit', onExit);
  await waitFor(async () => {
    if (gone !== null) throw new Error(`dnsmasq exited (${gone}): ${log}`);
    return answers(port, hosts[0] ?? 'example.com');
  }, 10000, 'dnsmasq to answer');
  return {
    server: `127.0.0.1:${port}`,
    async stop() {
      process.off('exit', onExit);
      if (gone === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
