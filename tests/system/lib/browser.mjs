// A very small browser for the AS's HTML pages: a cookie jar (enough of
// RFC 6265 for one host's Secure, host-only cookies), GET and form POST
// without following redirects (tests follow them by hand, to see every
// hop), and scraping a form's fields out of the page.
//
//   const b = new Browser(env.fetch);
//   let res = await b.get(authorizeUrl);             // the login form
//   const form = scrapeForm(await res.text());      // { action, fields }
//   res = await b.post(form.action, { ...form.fields, username, password });

// The text of an HTML attribute value as the page escaped it.
export function htmlUnescape(s) {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => (
    { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }[e]));
}

// The first <form> of a page: its action and its named inputs' values
// (hidden ones and any value="" given), plus the names of its buttons.
export function scrapeForm(html) {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in the page:\n${html.slice(0, 500)}`);
  const action = /action="([^"]*)"/i.exec(form[0])?.[1];
  const fields = {};
  for (const m of form[1].matchAll(/<input\b([^>]*)>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(m[1])?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(m[1])?.[1];
    if (name !== undefined) fields[htmlUnescape(name)] = value === undefined ? '' : htmlUnescape(value);
  }
  const buttons = [...form[1].matchAll(/<button\b[^>]*name="([^"]*)"[^>]*value="([^"]*)"/gi)]
    .map((m) => ({ name: m[1], value: m[2] }));
  return { action: action && htmlUnescape(action), fields, buttons };
}

export class Browser {
  constructor(fetch) {
    this.fetch = fetch;
    this.cookies = new Map(); // host -> Map(name -> value)
  }

  // Stores the response's Set-Cookie headers; Max-Age=0 deletes.
  remember(url, res) {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map();
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const maxAge = attrs.find((a) => /^max-age=/i.test(a));
      if (maxAge && Number(maxAge.split('=')[1]) <= 0) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1));
    }
    this.cookies.set(host, jar);
  }

  cookieHeader(url) {
    const jar = this.cookies.get(new URL(url).host);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url, init = {}) {
    const headers = { ...(init.headers ?? {}) };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    const res = await this.fetch(url, { ...init, headers, redirect: 'manual' });
    this.remember(url, res);
    return res;
  }

  get(url) {
    return this.request(url);
  }

  // POSTs fields (an object, or [name, value] pairs) urlencoded.
  post(url, fields, headers = {}) {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }
}
