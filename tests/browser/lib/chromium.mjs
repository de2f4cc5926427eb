// Debian's chromium driven by playwright-core, for the webmail's browser
// tests. No browser is ever downloaded: the binary is $FZ_CHROMIUM, else
// /usr/bin/chromium.
//
//   const browser = await launchChromium({ pins: [env-cert-file, ...] });
//   const ctx = await browser.newContext();       // one person, own cookies
//   const page = await ctx.newPage();
//
// The test servers' names (*.example.com, .net, .org) are mapped to
// 127.0.0.1 by --host-resolver-rules. Their certificates come from the
// test's throwaway CA, which chromium does not know: chromium ignores CA
// files and NSS databases it was not told about, so instead of an NSS db
// in a temporary HOME we pin the servers' own public keys with
// --ignore-certificate-errors-spki-list (SHA-256 of each certificate's
// SubjectPublicKeyInfo, base64). That trusts exactly the test servers'
// certificates and nothing else (it is not --ignore-certificate-errors),
// and chromium honours it only together with a --user-data-dir, which
// playwright gives every launch (a fresh temporary one).
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.FZ_CHROMIUM ?? '/usr/bin/chromium';

// base64(SHA-256(SPKI)) of the first certificate in a PEM file.
export function spkiHash(certFile) {
  const cert = new X509Certificate(readFileSync(certFile));
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export const HOST_RULES = 'MAP *.example.com 127.0.0.1, MAP *.example.net 127.0.0.1, '
  + 'MAP *.example.org 127.0.0.1';

// pins: certificate files (PEM) whose keys chromium is to accept.
// hostRules: the names to map (HOST_RULES), or null for none: the demo's
// names are under .localhost, which chromium resolves to loopback itself.
export async function launchChromium({ pins = [], hostRules = HOST_RULES } = {}) {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  if (hostRules) args.push(`--host-resolver-rules=${hostRules}`);
  if (pins.length) args.push(`--ignore-certificate-errors-spki-list=${pins.map(spkiHash).join(',')}`);
  // headless: playwright adds --headless and a fresh --user-data-dir.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 60_000 });
}
