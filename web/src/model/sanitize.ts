// Making a received HTML body safe to show. DOMPurify removes scripts, event
// handlers and javascript: URLs; on top of that remote content (images,
// backgrounds, CSS url()s) is blocked until the person asks for it. The
// result is shown in an <iframe sandbox=""> (no scripts, opaque origin) whose
// document carries its own strict Content-Security-Policy: two more walls in
// case one of these steps misses something.
import DOMPurify from 'dompurify';

export interface SanitizeOptions {
  allowRemote: boolean;
  /** `cid:` references resolved to data: URLs (inline images we have). */
  cid?: Record<string, string>;
}

export interface SanitizeResult {
  html: string;
  /** How many remote references were blocked. */
  remoteBlocked: number;
}

const REMOTE = /^\s*(?:https?:)?\/\//i;
const CSS_URL = /url\(\s*(['"]?)([^'")]*)\1\s*\)/gi;
const CSS_IMPORT = /@import\s+[^;]+;?/gi;

const FORBID_TAGS = [
  'script', 'noscript', 'template', 'iframe', 'frame', 'frameset', 'object', 'embed',
  'applet', 'base', 'link', 'meta', 'form', 'input', 'button', 'textarea', 'select',
  'option', 'audio', 'video', 'source', 'track', 'svg', 'math', 'portal',
];
const FORBID_ATTR = ['action', 'formaction', 'ping', 'srcset', 'imagesrcset', 'xlink:href'];
const URL_ATTRS = ['src', 'background', 'poster', 'lowsrc', 'dynsrc'];

function cidKey(v: string): string {
  return v.replace(/^\s*cid:/i, '').replace(/^<|>$/g, '').trim();
}

export function sanitizeMailHtml(dirty: string, opts: SanitizeOptions): SanitizeResult {
  let remoteBlocked = 0;

  const cleanCss = (css: string): string => {
    let out = css.replace(CSS_IMPORT, () => {
      remoteBlocked++;
      return '';
    });
    out = out.replace(CSS_URL, (whole, _q: string, url: string) => {
      if (/^\s*data:image\//i.test(url)) return whole;
      if (/^\s*cid:/i.test(url)) {
        const data = opts.cid?.[cidKey(url)];
        return data ? `url("${data}")` : 'none';
      }
      if (REMOTE.test(url) && opts.allowRemote) return whole;
      remoteBlocked++;
      return 'none';
    });
    return out;
  };

  DOMPurify.addHook('uponSanitizeElement', (node, data) => {
    if (data.tagName === 'style' && node.textContent) {
      node.textContent = cleanCss(node.textContent);
    }
  });
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (!(node instanceof Element)) return;
    for (const attr of URL_ATTRS) {
      const v = node.getAttribute(attr);
      if (v === null) continue;
      if (/^\s*cid:/i.test(v)) {
        const data = opts.cid?.[cidKey(v)];
        if (data) node.setAttribute(attr, data);
        else node.removeAttribute(attr);
      } else if (/^\s*data:image\//i.test(v)) {
        // an embedded image: harmless
      } else if (REMOTE.test(v) && opts.allowRemote) {
        // the person allowed remote content
      } else {
        if (REMOTE.test(v)) remoteBlocked++;
        node.removeAttribute(attr);
      }
    }
    const style = node.getAttribute('style');
    if (style && /url\(|@import/i.test(style)) node.setAttribute('style', cleanCss(style));
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
  try {
    const html = DOMPurify.sanitize(dirty, {
      FORBID_TAGS,
      FORBID_ATTR,
      FORCE_BODY: true,
      ALLOW_DATA_ATTR: false,
      ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto|cid):|data:image\/|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
    });
    return { html, remoteBlocked };
  } finally {
    DOMPurify.removeHooks('uponSanitizeElement');
    DOMPurify.removeHooks('afterSanitizeAttributes');
  }
}

/** The policy of the frame's document. */
export function frameCsp(allowRemote: boolean): string {
  const remote = allowRemote ? ' https: http:' : '';
  return [
    "default-src 'none'",
    `img-src data:${remote}`,
    `style-src 'unsafe-inline'${remote}`,
    `font-src data:${remote}`,
    "script-src 'none'",
    "object-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The frame's base styles (also used to measure its height). */
export const FRAME_BODY_CSS =
  'body,.fz-body{margin:0;padding:6px 4px;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;' +
  'color:#1c2026;word-wrap:break-word;overflow-wrap:anywhere}img{max-width:100%;height:auto}' +
  'blockquote{margin:0 0 0 .8em;padding-left:.8em;border-left:3px solid #ccd;color:#555}pre{white-space:pre-wrap}';

/** The whole `srcdoc` of the reading frame (always a light page, as mail HTML expects). */
export function frameDocument(cleanHtml: string, allowRemote: boolean): string {
  return (
    '<!DOCTYPE html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${frameCsp(allowRemote)}">` +
    '<meta name="referrer" content="no-referrer">' +
    `<style>html{color-scheme:light}${FRAME_BODY_CSS}</style>` +
    `</head><body>${cleanHtml}</body></html>`
  );
}
