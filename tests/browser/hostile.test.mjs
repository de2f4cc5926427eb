// Script where the webmail shows text (issue "Hardening", attack suite):
// a subject and attachment file names made of HTML and script, read in
// Debian's chromium from a real `federizer mbx` after a real sign-in at
// `federizer as`. Nothing may run: no dialog opens, no global is set,
// no element the markup names is created; the text shows as written.
// (Script in HTML bodies: webmail.test.mjs.)
//
// Needs build/src/cmd/federizer (or $FZ_BIN) and web/dist.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium } from './lib/chromium.mjs';
import { PASSWORD, startMailSystem } from './lib/servers.mjs';

const ALICE = 'alice@example.com';
const UI_TIMEOUT = 20_000;
// Each sets window.__fzXss and opens a dialog if it ever runs.
const XSS = (tag) => `<img src=x onerror="window.__fzXss='${tag}';alert('${tag}')">`
  + `<script>window.__fzXss='${tag}-script';alert('${tag}-script')</script>`
  + `<svg onload="window.__fzXss='${tag}-svg'"></svg>`;
const SUBJECT = `Invoice ${XSS('subject')} {{constructor.constructor('window.__fzXss=1')()}}`;
// (a quoted filename holds no '"': the markup quotes with "'")
const FILE_NAMES = [`${XSS('file').replace(/"/g, "'")}.png`, 'javascript:alert(1)//.pdf',
  '../../evil <b>bold</b>.txt'];

let fz;
let browser;
let page;
let token;
const dialogs = [];

const leaf = (r, type, disposition) => ({
  headers: [
    { 'Content-Disposition': disposition },
    { 'Content-ID': r.content_id },
    { 'Content-Type': [`message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${r.size}"`, type] },
  ],
});

async function apiJson(path, init) {
  const r = await fz.api(path, token, init);
  const text = await r.text();
  assert.ok(r.ok, `${init?.method ?? 'GET'} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function upload(bytes, type) {
  return apiJson('/api/v1/resources', { method: 'POST', body: bytes, headers: { 'content-type': type } });
}

// What the page would show if anything had run.
function ranNothing() {
  return page.evaluate(() => ({
    xss: window.__fzXss,
    injected: document.querySelectorAll('img[src="x"], svg[onload], [onerror]').length,
  }));
}

before(async () => {
  fz = await startMailSystem({ users: [ALICE] });
  browser = await launchChromium({ pins: fz.certs });
  token = await fz.accessToken(ALICE);
  // a message in alice's inbox with the hostile subject and file names
  const text = await upload(Buffer.from('See the attachments.'), 'text/plain; charset=UTF-8');
  const files = [];
  for (const [i, name] of FILE_NAMES.entries()) {
    const r = await upload(Buffer.from(`file ${i}`), 'application/octet-stream');
    files.push(leaf(r, 'application/octet-stream', `attachment; filename="${name}"`));
  }
  const created = await apiJson('/api/v1/messages', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      envelope: [{ headers: [{ From: `"Mallory ${XSS('name').replace(/"/g, "'")}" <${ALICE}>` }, { To: ALICE },
        { Subject: SUBJECT }, { 'Content-Type': 'multipart/mixed' }] }],
      body: { parts: [leaf(text, 'text/plain; charset=UTF-8', 'inline'), ...files] },
    }),
  });
  await apiJson(`/api/v1/messages/${created.id}`, {
    method: 'PATCH', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ folder: 'inbox', flags: { seen: false } }),
  });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
});

after(async () => {
  await browser?.close();
  const exits = await fz?.stop();
  for (const { log, exit } of exits ?? []) {
    assert.doesNotMatch(log, /Sanitizer|runtime error/, log);
    if (exit) assert.deepEqual(exit, { code: 0, signal: null }, log);
  }
});

describe('script in subjects and file names runs nothing', () => {
  test('the inbox lists the subject as text', async () => {
    await page.goto(fz.mbx.baseUrl);
    await page.locator('input[name=username]').waitFor();
    await page.getByLabel('Email address').fill(ALICE);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    await page.getByText('Up to date').waitFor();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Inbox\b/ }).click();
    await page.getByText('Invoice <img src=x', { exact: false }).first().waitFor();
    assert.deepEqual(await ranNothing(), { xss: undefined, injected: 0 });
    assert.deepEqual(dialogs, []);
  });

  test('the open message shows the subject and every file name as written', async () => {
    await page.getByText('Invoice <img src=x', { exact: false }).first().click();
    await page.getByText(FILE_NAMES[0]).first().waitFor();
    for (const name of FILE_NAMES) {
      assert.ok(await page.getByText(name, { exact: false }).count() > 0, `${name} shown as text`);
    }
    // any image the markup named would have failed to load by now
    await page.waitForTimeout(500);
    assert.deepEqual(await ranNothing(), { xss: undefined, injected: 0 });
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0);
    assert.equal(await page.locator('b', { hasText: 'bold' }).count(), 0);
    assert.deepEqual(dialogs, []);
  });
});
