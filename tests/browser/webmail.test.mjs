// The webmail in Debian's chromium against a real `federizer as` and a
// real `federizer mbx` (which serves web/dist): a person signs in through
// the AS's form, writes a draft with an attachment through the file
// chooser, reloads and is signed in again by the AS's session, saves a
// forwarding rule, reads an HTML message whose script must not run,
// sends to a second person when sending is built, and signs out, which
// revokes the refresh token. Screenshots go to build/screenshots/.
//
// Needs build/src/cmd/federizer (or $FZ_BIN) and web/dist (npm run build
// in web/). See web/README.md, "Browser tests". FZ_BROWSER_LOGS=1 prints
// the servers' logs at the end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchChromium } from './lib/chromium.mjs';
import { makePng } from './lib/png.mjs';
import { PASSWORD, startMailSystem } from './lib/servers.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const SHOTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../build/screenshots');
const UI_TIMEOUT = 20_000;
// Short access tokens, so the page refreshes them (with rotation) while
// the tests run: the webmail refreshes 60 s before expiry.
const ACCESS_TTL = 70;

const digestOf = (buf) => createHash('sha256').update(buf).digest('base64url');

let fz;
let browser;
let alice; // { ctx, page, tokens: [token responses], dialogs: [] }
let aliceToken; // an access token of alice's own, from a login outside the browser
const photo = makePng(640, 480, 7); // ~900 KiB of noise: uploads slowly under throttling
const draftSubject = 'Holiday plans';

// A browser context for one person: its own cookies and storage. Records
// every token response the page gets from the AS and every dialog.
async function person(viewport = { width: 1280, height: 800 }) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await ctx.newPage();
  const p = { ctx, page, tokens: [], dialogs: [], authorize: [], navigations: 0, syncs: [] };
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on('dialog', (d) => {
    p.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) p.navigations++;
  });
  page.on('request', (q) => {
    if (new URL(q.url()).pathname === '/api/v1/sync') p.syncs.push({ at: Date.now(), url: q.url() });
  });
  page.on('response', async (r) => {
    const url = new URL(r.url());
    if (url.origin !== new URL(fz.as.issuer).origin) return;
    if (url.pathname === '/authorize') p.authorize.push(r.status());
    if (url.pathname === '/token' && r.request().method() === 'POST') {
      const grant = new URLSearchParams(r.request().postData() ?? '').get('grant_type');
      const body = r.status() === 200 ? await r.json().catch(() => null) : null;
      p.tokens.push({ grant, status: r.status(), body });
    }
  });
  return p;
}

// Types into the AS's login form the way a person does.
async function signIn(p, username) {
  const { page } = p;
  await page.goto(fz.mbx.baseUrl);
  await page.locator('input[name=username]').waitFor();
  assert.equal(new URL(page.url()).origin, new URL(fz.as.issuer).origin, 'the form is the AS\'s');
  await page.getByLabel('Email address').pressSequentially(username, { delay: 5 });
  await page.getByLabel('Password').pressSequentially(PASSWORD, { delay: 5 });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await mailboxShown(page);
}

async function mailboxShown(page) {
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  await page.getByText('Up to date').waitFor();
}

function folder(page, name) {
  return page.getByRole('navigation', { name: 'Folders' })
    .getByRole('button', { name: new RegExp(`^${name}\\b`) });
}

function row(page, text) {
  return page.getByRole('listitem').filter({ hasText: text }).or(
    page.locator('[data-key]').filter({ hasText: text })).first();
}

// Polls fn() until it returns something truthy (no fixed sleeps).
async function eventually(fn, what, ms = UI_TIMEOUT) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function apiJson(path, init) {
  const r = await fz.api(path, aliceToken, init);
  const text = await r.text();
  assert.ok(r.ok, `${init?.method ?? 'GET'} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function upload(bytes, type) {
  return apiJson('/api/v1/resources', { method: 'POST', body: bytes, headers: { 'content-type': type } });
}

const leaf = (r, type, disposition) => ({
  headers: [
    { 'Content-Disposition': disposition },
    { 'Content-ID': r.content_id },
    { 'Content-Type': [`message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${r.size}"`, type] },
  ],
});

async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

before(async () => {
  fz = await startMailSystem({
    users: [ALICE, BOB],
    as: { tokens: { access_ttl: ACCESS_TTL } },
    // A long poll holds an MBX worker thread and every keep-alive
    // connection that thread serves (docs/operations.md, "Long polls and
    // threads"), even after the page that asked has gone (a reload): the
    // MBX's default thread count, and short waits to bound how long a
    // request can queue behind one.
    mbx: { limits: { threads: 16, long_poll_max_waiters: 4, long_poll_max_wait: 5 } },
  });
  browser = await launchChromium({ pins: fz.certs });
  aliceToken = await fz.accessToken(ALICE);
});

after(async () => {
  await browser?.close();
  const exits = await fz?.stop();
  for (const { log, exit } of exits ?? []) {
    if (process.env.FZ_BROWSER_LOGS) process.stderr.write(log);
    assert.doesNotMatch(log, /Sanitizer|runtime error/, log);
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, log);
  }
});

describe('the webmail in chromium against a real AS and MBX', () => {
  test('alice signs in through the AS\'s form and lands in her mailbox', async () => {
    alice = await person();
    await signIn(alice, ALICE);
    const { page } = alice;
    // The code and state are gone from the address bar.
    assert.equal(page.url(), fz.mbx.baseUrl);
    for (const name of ['Inbox', 'Sent', 'Drafts', 'Trash']) await folder(page, name).waitFor();
    await page.getByText(ALICE).first().waitFor();
    const code = alice.tokens.find((t) => t.grant === 'authorization_code');
    assert.equal(code?.status, 200);
    assert.ok(code.body.refresh_token, 'a refresh token came with the code');
    // Tokens live in memory only.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.doesNotMatch(stored, new RegExp(code.body.access_token.slice(-20)));
    assert.doesNotMatch(stored, new RegExp(code.body.refresh_token));
  });

  test('a draft with an attachment chosen in the file chooser, upload progress shown', async () => {
    const { page, ctx } = alice;
    await page.getByRole('button', { name: 'Compose', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'New message' });
    await dialog.getByLabel('To').pressSequentially(`Bob <${BOB}>`);
    await dialog.getByLabel('To').press('Enter');
    await dialog.getByText('Bob', { exact: true }).waitFor();
    await dialog.getByLabel('Subject').fill(draftSubject);
    await dialog.getByLabel('Message text').pressSequentially('Shall we go to Venice?\nPhoto attached.');

    // Upload at 256 KiB/s, so the progress bar is there to be seen.
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024,
    });
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      dialog.getByRole('button', { name: 'Attach files' }).click(),
    ]);
    assert.ok(chooser.isMultiple());
    await chooser.setFiles({ name: 'venice.png', mimeType: 'image/png', buffer: photo });
    const bar = dialog.getByRole('progressbar', { name: 'Uploading venice.png' });
    await bar.waitFor();
    const seen = new Set();
    await eventually(async () => {
      const v = await bar.getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => null);
      if (v !== null && Number(v) > 0 && ![...seen].some((x) => x > 0)) await screenshot(page, 'desktop-uploading');
      if (v !== null) seen.add(Number(v));
      return v === null;
    }, 'the upload to finish', 60_000);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
    await cdp.detach();
    assert.ok([...seen].some((v) => v > 0 && v < 100), `progress between 0 and 100 shown: ${[...seen]}`);
    await dialog.getByRole('button', { name: 'Remove venice.png' }).waitFor();
    await dialog.getByText(/Draft saved|Saving/).waitFor();

    await dialog.getByRole('button', { name: 'Close (the draft is kept)' }).click();
    await page.getByText('Draft saved.').waitFor();
    await folder(page, 'Drafts').click();
    await row(page, draftSubject).waitFor();

    // The mailbox has it, with the attachment's bytes under their digest.
    const all = await apiJson('/api/v1/sync');
    const draft = all.changed.find((m) => JSON.stringify(m.document).includes(draftSubject));
    assert.ok(draft, 'the draft is in the mailbox');
    assert.equal(draft.folder, 'drafts');
    const doc = JSON.stringify(draft.document);
    assert.match(doc, new RegExp(`<${digestOf(photo)}>`));
    assert.match(doc, /filename=\\"venice.png\\"/);
    assert.match(doc, new RegExp(`size=\\\\"${photo.length}\\\\"`));
    assert.match(doc, /Bob <bob@example.com>/);
    const r = await fz.api(`/api/v1/resources/${digestOf(photo)}`, aliceToken);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(photo));
    // The text went in as an inline part the sync carries.
    assert.ok(Object.values(all.inline).some((c) => c.text.includes('Shall we go to Venice?')));
  });

  test('a reload signs in again through the AS\'s session, no form, and the draft is there', async () => {
    const { page } = alice;
    const before = alice.authorize.length;
    await page.reload();
    await mailboxShown(page);
    const after = alice.authorize.slice(before);
    assert.deepEqual(after, [302], 'one /authorize, answered with a code at once');
    assert.equal(await page.locator('input[name=password]').count(), 0);
    await folder(page, 'Drafts').click();
    await row(page, draftSubject).click();
    // A draft opens in the compose window, attachment and all.
    const dialog = page.getByRole('dialog', { name: /Draft|Edit|New message/ });
    await dialog.getByText('venice.png').waitFor();
    assert.equal(await dialog.getByLabel('Subject').inputValue(), draftSubject);
    assert.match(await dialog.getByLabel('Message text').inputValue(), /Shall we go to Venice\?/);
    await dialog.getByRole('button', { name: 'Close (the draft is kept)' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  test('the access token is refreshed in the page, and the rotated one keeps working', async () => {
    const { page } = alice;
    const had = alice.tokens.filter((t) => t.grant === 'refresh_token').length;
    await eventually(() => alice.tokens.filter((t) => t.grant === 'refresh_token').length > had,
      'a refresh in the page', (ACCESS_TTL + 10) * 1000);
    const refresh = alice.tokens.filter((t) => t.grant === 'refresh_token').at(-1);
    assert.equal(refresh.status, 200);
    const earlier = alice.tokens.filter((t) => t.body && t !== refresh).map((t) => t.body.refresh_token);
    assert.ok(!earlier.includes(refresh.body.refresh_token), 'the refresh token rotated');
    // The next API call carries the new access token and is answered.
    const [req] = await Promise.all([
      page.waitForRequest((q) => q.url().endsWith('/api/v1/settings/forwarding')),
      page.getByRole('button', { name: 'Settings' }).click(),
    ]);
    const latest = alice.tokens.filter((t) => t.body).at(-1).body.access_token;
    assert.equal(req.headers().authorization, `Bearer ${latest}`);
    assert.equal((await req.response()).status(), 200);
    await page.getByRole('button', { name: /close/i }).first().click();
  });

  test('settings: the forwarding rule is saved (PUT) and read back (GET)', async () => {
    const { page } = alice;
    await page.getByRole('button', { name: 'Settings' }).click();
    let dlg = page.getByRole('dialog', { name: 'Settings' });
    await dlg.getByLabel('Forward my mail').check();
    await dlg.getByLabel('Forward to').fill('carol@example.org');
    await dlg.getByLabel('Keep a copy in my inbox').uncheck();
    const [put] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/settings/forwarding') && r.request().method() === 'PUT'),
      dlg.getByRole('button', { name: 'Save' }).click(),
    ]);
    assert.equal(put.status(), 200);
    await dlg.getByText('Saved.').waitFor();
    assert.deepEqual(await apiJson('/api/v1/settings/forwarding'),
      { enabled: true, to: 'carol@example.org', keep_copy: false });
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Settings' }).click();
    dlg = page.getByRole('dialog', { name: 'Settings' });
    await dlg.getByLabel('Forward to').and(page.locator('[value="carol@example.org"]')).waitFor();
    assert.equal(await dlg.getByLabel('Forward my mail').isChecked(), true);
    assert.equal(await dlg.getByLabel('Keep a copy in my inbox').isChecked(), false);
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    await apiJson('/api/v1/settings/forwarding', {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: false, to: '', keep_copy: true }),
    });
  });

  test('the MBX goes away: the page backs off; back without long-poll slots: it paces its polls', async () => {
    const { page } = alice;
    await fz.stopMbx();
    await page.getByText('The mailbox cannot be reached right now; retrying.').waitFor();
    await page.getByText('Reconnecting…').waitFor();
    // No slot for any waiter: every sync is answered at once, empty.
    await fz.startMbx({ long_poll_max_waiters: 0 });
    await page.getByText('Up to date').waitFor({ timeout: 70_000 });
    await eventually(() => alice.syncs.at(-1)?.url.includes('wait='), 'a long poll');
    const from = alice.syncs.length;
    // A rate over a fixed time is what is measured here.
    await new Promise((ok) => setTimeout(ok, 5000));
    const asked = alice.syncs.length - from;
    assert.ok(asked >= 1 && asked <= 5, `${asked} sync requests in 5 s with no long-poll slot (a tight loop makes hundreds)`);
    await fz.stopMbx();
    await fz.startMbx({ long_poll_max_waiters: 4 });
    await page.getByText('Up to date').waitFor({ timeout: 70_000 });
    // The next test sees a change reach the page by its long poll again.
  });

  test('an HTML body with <script> and an onerror image arrives by sync and runs nothing', async () => {
    const { page } = alice;
    const html = '<!doctype html><html><body><p>Hello from the <b>newsletter</b>.</p>'
      + '<script>window.top.__fzXss = "script"; parent.__fzXss = "script"; alert("script")</script>'
      + '<img src=x onerror="window.top.__fzXss=\'onerror\';parent.__fzXss=\'onerror\';alert(\'onerror\')">'
      + '<a href="javascript:alert(1)">click</a></body></html>';
    const text = 'Hello from the newsletter.';
    const h = await upload(Buffer.from(html), 'text/html; charset=UTF-8');
    const t = await upload(Buffer.from(text), 'text/plain; charset=UTF-8');
    const created = await apiJson('/api/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope: [{ headers: [{ From: `Alice <${ALICE}>` }, { To: ALICE }, { Subject: 'Weekly newsletter' },
          { 'Content-Type': 'multipart/mixed' }] }],
        body: { parts: [{ headers: [{ 'Content-Type': 'multipart/alternative' }],
          parts: [leaf(t, 'text/plain; charset=UTF-8', 'inline'), leaf(h, 'text/html; charset=UTF-8', 'inline')] }] },
      }),
    });
    await apiJson(`/api/v1/messages/${created.id}`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ folder: 'inbox', flags: { seen: false } }),
    });
    // The open page learns of it by its long poll, no reload.
    const navigations = alice.navigations;
    await folder(page, 'Inbox').click();
    await row(page, 'Weekly newsletter').click();
    assert.equal(alice.navigations, navigations);
    const frameEl = page.locator('iframe[title="Message content"]');
    await frameEl.waitFor();
    assert.equal(await frameEl.getAttribute('sandbox'), '');
    const frame = await (await frameEl.elementHandle()).contentFrame();
    await frame.getByText('newsletter').first().waitFor();
    // Every image (in the frame and in the page's measuring copy) has
    // finished or failed, so an onerror would have fired by now.
    await eventually(() => frame.evaluate(() => [...document.images].every((i) => i.complete)), 'frame images');
    await eventually(() => page.evaluate(() => [...document.querySelectorAll('*')]
      .flatMap((e) => (e.shadowRoot ? [...e.shadowRoot.querySelectorAll('img')] : []))
      .every((i) => i.complete)), 'page images');
    assert.equal(await page.evaluate(() => window.__fzXss), undefined);
    const inFrame = await frame.evaluate(() => ({
      xss: window.__fzXss,
      scripts: document.scripts.length,
      handlers: document.querySelectorAll('[onerror]').length,
      jsLinks: [...document.links].filter((a) => a.href.startsWith('javascript:')).length,
    }));
    assert.deepEqual(inFrame, { xss: undefined, scripts: 0, handlers: 0, jsLinks: 0 });
    assert.deepEqual(alice.dialogs, []);
    await screenshot(page, 'desktop-reading-html');
  });

  test('screenshots: desktop and a 360 px phone', async () => {
    const { page } = alice;
    await folder(page, 'Inbox').click();
    await screenshot(page, 'desktop-inbox');
    await folder(page, 'Drafts').click();
    await row(page, draftSubject).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('venice.png').waitFor();
    await screenshot(page, 'desktop-compose');
    await dialog.getByRole('button', { name: 'Close (the draft is kept)' }).click();
    await dialog.waitFor({ state: 'detached' });

    await page.setViewportSize({ width: 360, height: 740 });
    await page.getByRole('button', { name: 'Folders' }).click();
    await folder(page, 'Inbox').click();
    await row(page, 'Weekly newsletter').waitFor();
    await screenshot(page, 'phone-inbox');
    await row(page, 'Weekly newsletter').click();
    await page.locator('iframe[title="Message content"]').waitFor();
    await screenshot(page, 'phone-reading');
    // Nothing wider than the screen.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('offline: the service worker serves the app shell and the device\'s copy shows the mail', async () => {
    const { page, ctx } = alice;
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return { active: reg.active?.state, scope: reg.scope };
    });
    assert.deepEqual(sw, { active: 'activated', scope: fz.mbx.baseUrl });
    await ctx.setOffline(true);
    try {
      await page.reload();
      await page.getByText('You are offline.', { exact: false }).waitFor();
      await folder(page, 'Inbox').click();
      await row(page, 'Weekly newsletter').click();
      const frame = page.frameLocator('iframe[title="Message content"]');
      await frame.getByText('newsletter').first().waitFor();
      await screenshot(page, 'desktop-offline');
    } finally {
      await ctx.setOffline(false);
    }
    await page.reload();
    await mailboxShown(page);
    assert.equal(await page.getByText('You are offline.', { exact: false }).count(), 0);
  });

  test('alice sends to bob; bob sees it arrive without a reload and downloads the attachment', async (t) => {
    const probe = await fz.api('/api/v1/messages/AAAAAAAAAAAAAAAAAAAAAA/send', aliceToken, { method: 'POST' });
    await probe.arrayBuffer();
    if (probe.status === 501) {
      t.skip('the MBX does not send yet (POST .../send answers 501)');
      return;
    }
    const bob = await person();
    try {
      await signIn(bob, BOB);
      const bobNavigations = bob.navigations;
      const { page } = alice;
      await folder(page, 'Drafts').click();
      await row(page, draftSubject).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('venice.png').waitFor();
      await dialog.getByRole('button', { name: 'Send' }).click();
      await page.getByText('Message sent.').waitFor({ timeout: 30_000 });

      await row(bob.page, draftSubject).waitFor({ timeout: 30_000 });
      assert.equal(bob.navigations, bobNavigations, 'bob\'s page did not reload');
      await row(bob.page, draftSubject).click();
      await bob.page.getByText('Shall we go to Venice?').first().waitFor();
      const [download] = await Promise.all([
        bob.page.waitForEvent('download'),
        bob.page.getByRole('button', { name: 'Download venice.png' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'venice.png');
      assert.ok(readFileSync(await download.path()).equals(photo), 'the PNG, byte for byte');
      await screenshot(bob.page, 'desktop-received');

      // Alice's copy in Sent shows the delivery, which needs no polling.
      await folder(page, 'Sent').click();
      await row(page, draftSubject).click();
      await page.getByRole('button', { name: 'Delivery status' }).click();
      const status = page.getByRole('region', { name: 'Delivery status' });
      await status.getByText('Delivered').waitFor();
      await status.getByText(BOB).waitFor();
      await screenshot(page, 'desktop-sent-status');
    } finally {
      await bob.ctx.close();
    }
  });

  test('signing out revokes the refresh token', async () => {
    const { page } = alice;
    const last = alice.tokens.filter((t) => t.body).at(-1).body;
    const [revoke] = await Promise.all([
      page.waitForResponse((r) => r.url() === fz.as.url('/revoke')),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    assert.equal(revoke.status(), 200);
    await page.getByText('You have signed out.').waitFor();
    // The refresh token the page held is dead at the AS.
    const r = await fz.env.fetch(fz.as.url('/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: last.refresh_token, client_id: 'webmail' }),
    });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error, 'invalid_grant');
    assert.match(fz.as.log, /POST \/revoke 200/);
    // A reload stays signed out (no silent sign-in after signing out).
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(new URL(page.url()).origin, new URL(fz.mbx.baseUrl).origin);
    // Nothing of the mailbox is left on the device.
    const dbs = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    for (const name of dbs) {
      const count = await page.evaluate(async (n) => new Promise((ok) => {
        const open = indexedDB.open(n);
        open.onsuccess = () => {
          const db = open.result;
          const stores = [...db.objectStoreNames];
          if (!stores.length) return ok(0);
          const tx = db.transaction(stores);
          let total = 0;
          let left = stores.length;
          for (const s of stores) {
            const c = tx.objectStore(s).count();
            c.onsuccess = () => {
              total += c.result;
              if (--left === 0) ok(total);
            };
          }
        };
        open.onerror = () => ok(-1);
      }), name);
      assert.equal(count, 0, `IndexedDB ${name} is empty after signing out`);
    }
  });
});
