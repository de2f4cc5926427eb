// The PWA pieces Vite does not make: PNG icons rendered at build time, and a
// service worker that precaches exactly the files of this build (the app
// shell). The worker never touches API, OAuth or cross-origin requests, so
// no response carrying mail or tokens is ever cached by it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';
import { ICONS, renderIcon } from './icons.ts';

const SW_TEMPLATE = new URL('./sw-template.js', import.meta.url);

/** The Content-Security-Policy of the built app (not in dev: Vite injects inline scripts there). */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // styled-components injects <style> elements.
  "style-src 'self' 'unsafe-inline'",
  // data: for the reading frame's inline images; https: only after the person
  // allowed remote content (the frame has its own stricter policy).
  "img-src 'self' data: blob: https:",
  "font-src 'self' data:",
  // The AS is another origin, found at run time: token and revocation calls.
  "connect-src 'self' https:",
  "frame-src 'self' about:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

export function pwa(): Plugin {
  let base = '/';
  let isBuild = false;
  return {
    name: 'federizer-pwa',
    configResolved(c) {
      base = c.base;
      isBuild = c.command === 'build';
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0] ?? '';
        const icon = ICONS.find((i) => url === `${base}${i.file}`);
        if (!icon) return next();
        res.setHeader('Content-Type', 'image/png');
        res.end(Buffer.from(renderIcon(icon.size, icon.maskable)));
      });
    },
    transformIndexHtml() {
      if (!isBuild) return [];
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: APP_CSP }, injectTo: 'head-prepend' }];
    },
    generateBundle(_opts, bundle) {
      for (const i of ICONS) {
        this.emitFile({ type: 'asset', fileName: i.file, source: renderIcon(i.size, i.maskable) });
      }
      const files = new Set<string>(['', 'index.html', 'manifest.webmanifest', 'icon.svg']);
      for (const name of Object.keys(bundle)) files.add(name);
      for (const i of ICONS) files.add(i.file);
      const list = [...files].filter((f) => !f.endsWith('.map')).sort();
      const version = createHash('sha256').update(list.join('\n')).digest('hex').slice(0, 16);
      const sw = readFileSync(SW_TEMPLATE, 'utf8')
        .replace('__VERSION__', version)
        .replace('__BASE__', JSON.stringify(base))
        .replace('__PRECACHE__', JSON.stringify(list));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: sw });
    },
  };
}
