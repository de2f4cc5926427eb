// Simple formatting for the compose body. The person writes plain text with
// a few marks (the toolbar inserts them): **bold**, _italic_, `code`,
// [text](https://link), "- " list items, "> " quotations. The text/plain part
// keeps the marks (they read well as text); the text/html alternative is made
// from them here. Everything is escaped first, so no markup the person types
// reaches the HTML.

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function inline(escaped: string): string {
  return escaped
    .replace(/`([^`\n]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,;:!?])/g, '$1<em>$2</em>')
    .replace(
      /\[([^\]\n]+)\]\((https?:\/\/[^\s)]+|mailto:[^\s)]+)\)/g,
      (_m, text: string, url: string) => `<a href="${url}">${text}</a>`,
    )
    .replace(
      /(^|[\s(])(https?:\/\/[^\s<)]+)/g,
      (_m, pre: string, url: string) => `${pre}<a href="${url}">${url}</a>`,
    );
}

/** The HTML alternative of a formatted plain text body. */
export function textToHtml(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let mode = null as 'p' | 'ul' | 'quote' | null;
  let buf: string[] = [];
  const flush = (): void => {
    if (mode === 'p' && buf.length) out.push(`<p>${buf.join('<br>')}</p>`);
    if (mode === 'ul') out.push(`<ul>${buf.map((l) => `<li>${l}</li>`).join('')}</ul>`);
    if (mode === 'quote') out.push(`<blockquote>${buf.join('<br>')}</blockquote>`);
    buf = [];
    mode = null;
  };
  for (const raw of lines) {
    const esc = escapeHtml(raw);
    let next: 'p' | 'ul' | 'quote';
    let content: string;
    const li = /^\s*[-*]\s+(.*)$/.exec(raw);
    const q = /^\s*>\s?(.*)$/.exec(raw);
    if (raw.trim() === '') {
      flush();
      continue;
    } else if (li) {
      next = 'ul';
      content = inline(escapeHtml(li[1] ?? ''));
    } else if (q) {
      next = 'quote';
      content = inline(escapeHtml(q[1] ?? ''));
    } else {
      next = 'p';
      content = inline(esc);
    }
    if (next !== mode) flush();
    mode = next;
    buf.push(content);
  }
  flush();
  return (
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head>' +
    `<body style="font-family:system-ui,sans-serif;line-height:1.5">${out.join('\n')}</body></html>`
  );
}

/** Quotes a text for a reply: "> " before each line. */
export function quoteText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => (l.startsWith('>') ? `>${l}` : `> ${l}`))
    .join('\n');
}
