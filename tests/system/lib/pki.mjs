// A throwaway PKI for system tests, made with the `openssl` command: one
// test CA and, per server, a P-256 certificate for the names it answers
// to (always localhost and 127.0.0.1, plus names like as.example.com).
// Nothing here is secret; the folder goes away with the test.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DAYS = '2'; // long enough for any run, short enough to be useless later

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// Makes ca.pem and ca.key in dir. Returns { dir, caFile, caPem, issue }.
// issue(name, hosts) writes <name>.crt and <name>.key for the DNS names
// and IP addresses in hosts (localhost and 127.0.0.1 are always added)
// and returns { cert, key } (file paths).
export function makePki(dir) {
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', caKey, '-out', caFile, '-days', DAYS, '-subj', '/CN=Federizer test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  chmodSync(caKey, 0o600);

  function issue(name, hosts = []) {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    const ext = join(dir, `${name}.ext`);
    const all = [...new Set(['localhost', '127.0.0.1', ...hosts])];
    const san = all.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n` +
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
    chmodSync(key, 0o600);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr], dir);
    openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial',
      '-days', DAYS, '-extfile', ext, '-out', cert], dir);
    return { cert, key };
  }

  return { dir, caFile, caPem: readFileSync(caFile, 'utf8'), issue };
}
