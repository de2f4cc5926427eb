// A real `federizer as` and `federizer mbx` for the webmail's browser
// tests, the MBX serving the built webmail (web/dist) on its origin, the
// AS knowing the users, the public client `webmail` (SPEC §12) and the
// MBX's MTA (so the MBX can send).
//
//   const fz = await startMailSystem({ users: ['alice@example.com'] });
//   fz.mbx.baseUrl                       // open this in chromium
//   const token = await fz.accessToken('alice@example.com');   // for API calls
//   await fz.stop();
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AsServer, makeTestEnv } from '../../system/lib/index.mjs';
import { loginWithPkce } from '../../system/lib/login.mjs';
import { MbxServer } from '../../system/lib/mbx.mjs';
import YAML from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const WEB_DIST = resolve(process.env.FZ_WEB_DIST ?? join(root, 'web/dist'));
export const PASSWORD = 'correct horse battery';

// as, mbx: configuration merged over the harness's defaults.
export async function startMailSystem({ users = [], as: asConfig = {}, mbx: mbxConfig = {} } = {}) {
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    throw new Error(`${WEB_DIST}/index.html is missing: run "npm run build" in web/ first`);
  }
  const env = await makeTestEnv('fz-web-');
  // The MBX fetches the AS's metadata and keys by the issuer's host with
  // the system resolver: localhost resolves without a test DNS server.
  const as = await AsServer.create(env, { name: 'localhost', config: asConfig });
  const mbx = await MbxServer.create(env, as, { config: { webmail: WEB_DIST, ...mbxConfig } });
  for (const u of users) as.adminOk(['user', 'add', u], { input: `${PASSWORD}\n` });
  as.adminOk(['client', 'add', 'webmail', '--public', '--first-party',
    '--redirect-uri', mbx.url('/oauth/callback'), '--audience', mbx.baseUrl]);
  // The MBX's MTA, a confidential client of the AS: sending exchanges the
  // user's token for an assertion through it.
  await mbx.registerMta();
  await as.start();
  await mbx.start();
  return {
    env,
    as,
    mbx,
    // The certificates chromium is to accept (chromium.mjs pins them).
    certs: [as.cfg.tls.cert, mbx.cfg.tls.cert],
    // A token response for username, through the AS's real login (node's
    // own cookie jar: a second device, not the browser's session).
    login(username) {
      return loginWithPkce(env, as, {
        clientId: 'webmail', redirectUri: mbx.url('/oauth/callback'), username, password: PASSWORD,
      });
    },
    async accessToken(username) {
      return (await this.login(username)).access_token;
    },
    // A call to the MBX API with a bearer token.
    api(path, token, init = {}) {
      return env.fetch(mbx.url(path), {
        ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}` },
      });
    },
    // Stops the MBX; start() brings it back with its (changed) cfg.
    stopMbx() {
      return mbx.stop();
    },
    async startMbx(limits = {}) {
      mbx.cfg.limits = { ...mbx.cfg.limits, ...limits };
      writeFileSync(mbx.configFile, YAML.stringify(mbx.cfg));
      await mbx.start();
    },
    async stop() {
      const exits = [];
      for (const s of env.servers) exits.push({ log: s.log, exit: await s.stop() });
      await env.cleanup();
      return exits;
    },
  };
}
