// A local AS and MBX serving the built webmail, for trying it by hand:
//
//   node tests/browser/serve.mjs            # Ctrl-C stops both
//
// Prints the webmail's URL, the users (alice@ and bob@example.com, one
// password) and a chromium command line that resolves the test names to
// 127.0.0.1 and accepts exactly these servers' throwaway certificates.
// Uses $FZ_BIN (default build/src/cmd/federizer) and web/dist.
import { spkiHash, HOST_RULES, CHROMIUM } from './lib/chromium.mjs';
import { PASSWORD, startMailSystem, WEB_DIST } from './lib/servers.mjs';

const users = ['alice@example.com', 'bob@example.com'];
const fz = await startMailSystem({ users });
const pins = fz.certs.map(spkiHash).join(',');
console.log(`AS:      ${fz.as.issuer}
webmail: ${fz.mbx.baseUrl}   (${WEB_DIST})
users:   ${users.join(', ')}   password: ${PASSWORD}

${CHROMIUM} --user-data-dir="$(mktemp -d)" \\
  --host-resolver-rules='${HOST_RULES}' \\
  --ignore-certificate-errors-spki-list='${pins}' \\
  ${fz.mbx.baseUrl}

Ctrl-C stops the servers.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await fz.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
