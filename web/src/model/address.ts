// Mail addresses: parsing address lists (RFC 5322 mailbox-list, the forms
// people actually type), validating addr-specs, formatting for headers.

export interface Address {
  name?: string;
  address: string;
}

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\u0080-\\uFFFF]";
const DOT_ATOM = `${ATEXT}+(?:\\.${ATEXT}+)*`;
const QUOTED = '"(?:[^"\\\\\\r\\n]|\\\\.)*"';
const LOCAL_RE = new RegExp(`^(?:${DOT_ATOM}|${QUOTED})$`);
const LABEL_RE = /^(?!-)[A-Za-z0-9\-\u0080-\uFFFF]{1,63}(?<!-)$/;

/** True when `addr` is a plausible Internet mail address (local@domain.tld). */
export function isValidAddress(addr: string): boolean {
  if (addr.length > 254) return false;
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return false;
  const local = addr.slice(0, at);
  const domain = addr.slice(at + 1);
  if (local.length > 64 || !LOCAL_RE.test(local)) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL_RE.test(l))) return false;
  const tld = labels[labels.length - 1] ?? '';
  return !/^[0-9]+$/.test(tld);
}

/** Splits on commas and semicolons outside quotes and angle brackets. */
function splitList(input: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (c === '\\' && quoted) {
      cur += c + input.charAt(i + 1);
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') angle++;
    else if (!quoted && c === '>') angle = Math.max(0, angle - 1);
    if (!quoted && angle === 0 && (c === ',' || c === ';')) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function unquote(name: string): string {
  const t = name.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    return t.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return t;
}

export interface ParsedAddress extends Address {
  /** The text it came from. */
  raw: string;
  valid: boolean;
}

/** Parses one mailbox: `Name <a@b.c>`, `"Last, First" <a@b.c>`, `a@b.c`. */
export function parseAddress(raw: string): ParsedAddress {
  const text = raw.trim();
  const m = /^(.*?)<([^<>]*)>\s*$/.exec(text);
  if (m) {
    const address = (m[2] ?? '').trim();
    const name = unquote(m[1] ?? '');
    return { raw: text, address, ...(name ? { name } : {}), valid: isValidAddress(address) };
  }
  return { raw: text, address: text, valid: isValidAddress(text) };
}

export function parseAddressList(input: string | undefined): ParsedAddress[] {
  if (!input) return [];
  return splitList(input).map(parseAddress);
}

const SPECIALS = /[()<>[\]:;@\\,."]/;

/** `Name <addr>` with the name quoted when it holds specials. */
export function formatAddress(a: Address): string {
  if (!a.name) return a.address;
  const name = SPECIALS.test(a.name) ? `"${a.name.replace(/[\\"]/g, (c) => `\\${c}`)}"` : a.name;
  return `${name} <${a.address}>`;
}

export function formatAddressList(list: Address[]): string {
  return list.map(formatAddress).join(', ');
}

/** What to show for a person: the name, else the address. */
export function displayName(a: Address | undefined): string {
  if (!a) return '';
  return a.name ?? a.address;
}

export function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** The domain part of an address, lower-cased. */
export function domainOf(addr: string): string {
  return addr.slice(addr.lastIndexOf('@') + 1).toLowerCase();
}
