// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { frameCsp, frameDocument, sanitizeMailHtml } from '../src/model/sanitize';

const clean = (html: string, allowRemote = false) => sanitizeMailHtml(html, { allowRemote });

describe('HTML sanitising', () => {
  it('removes scripts and event handlers', () => {
    const r = clean('<p>hi</p><script>alert(1)</script><img src="x" onerror="alert(2)"><div onclick="x()">d</div><svg onload="alert(3)"></svg>');
    expect(r.html).not.toMatch(/script|onerror|onclick|onload|alert/i);
    expect(r.html).toContain('<p>hi</p>');
  });

  it('removes javascript: and other dangerous URLs', () => {
    const r = clean('<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(1)">b</a><a href="data:text/html,<script>x</script>">c</a><a href="https://example.org/">d</a>');
    expect(r.html).not.toMatch(/javascript:|data:text/i);
    expect(r.html).toContain('href="https://example.org/"');
    expect(r.html).toContain('rel="noopener noreferrer"');
  });

  it('drops forms, frames, objects, base and meta refresh', () => {
    const r = clean('<form action="https://evil"><input name="p"></form><iframe src="https://x"></iframe><object data="x"></object><base href="https://evil/"><meta http-equiv="refresh" content="0;url=https://evil">');
    expect(r.html).not.toMatch(/<form|<input|<iframe|<object|<base|<meta/i);
  });

  it('blocks remote images, backgrounds and CSS until allowed', () => {
    const html =
      '<img src="https://tracker.example/p.gif"><img src="//cdn.example/b.png">' +
      '<table><tr><td background="http://x/bg.png"></td></tr></table><div style="background:url(https://x/y.png)">s</div>' +
      '<style>@import url(https://x/a.css); body{background:url("https://x/z.png")}</style>' +
      '<img src="data:image/png;base64,iVBORw0KGgo=">';
    const r = clean(html);
    expect(r.remoteBlocked).toBe(6);
    expect(r.html).not.toMatch(/https?:\/\/|src="\/\//);
    expect(r.html).toContain('<img>');
    expect(r.html).toContain('src="data:image/png;base64,iVBORw0KGgo="');
    const allowed = clean(html, true);
    expect(allowed.html).toContain('src="https://tracker.example/p.gif"');
    expect(allowed.html).toContain('url(https://x/y.png)');
  });

  it('maps cid: images to what we have, and drops the rest', () => {
    const r = sanitizeMailHtml('<img src="cid:abc"><img src="cid:zzz">', { allowRemote: false, cid: { abc: 'data:image/png;base64,AAAA' } });
    expect(r.html).toContain('src="data:image/png;base64,AAAA"');
    expect(r.html).not.toContain('cid:zzz');
  });

  it('frames the result with a strict policy', () => {
    const doc = frameDocument('<p>x</p>', false);
    expect(doc).toContain(`content="${frameCsp(false)}"`);
    expect(frameCsp(false)).toContain("script-src 'none'");
    expect(frameCsp(false)).toMatch(/img-src data:;/);
    expect(frameCsp(true)).toContain('img-src data: https: http:');
    expect(frameCsp(true)).toContain("script-src 'none'");
  });
});
