// The Placeholder Message document (SPEC §3) and the helpers that read and
// write it. A header block is a list of single-key maps whose order matters;
// header names compare case-insensitively.

export type HeaderValue = string | string[];
export type HeaderBlock = Record<string, HeaderValue>[];

export interface HeadersEntry {
  headers: HeaderBlock;
}
export interface AssertionEntry {
  'jwt-assertion': string;
}
export type EnvelopeEntry = HeadersEntry | AssertionEntry;

export interface Part {
  headers: HeaderBlock;
  parts?: Part[];
}

export interface PlaceholderDocument {
  envelope: EnvelopeEntry[];
  body: { parts: Part[] };
}

export type Folder = 'inbox' | 'sent' | 'drafts' | 'trash';
export const FOLDERS: readonly Folder[] = ['inbox', 'sent', 'drafts', 'trash'];

export interface Flags {
  seen: boolean;
  flagged: boolean;
}

/** A message as the mailbox API returns it. */
export interface MessageObject {
  id: string;
  folder: Folder;
  flags: Flags;
  document: PlaceholderDocument;
}

export const EXTERNAL_BODY_TYPE = 'message/external-body';

/** True when v has the shape of a message object (an API answer). */
export function isMessageObject(v: unknown): v is MessageObject {
  if (!v || typeof v !== 'object') return false;
  const m = v as Partial<MessageObject>;
  return (
    typeof m.id === 'string' &&
    typeof m.folder === 'string' &&
    !!m.flags &&
    typeof m.flags === 'object' &&
    !!m.document &&
    Array.isArray(m.document.envelope)
  );
}

export function isHeadersEntry(e: EnvelopeEntry): e is HeadersEntry {
  return Array.isArray((e as Partial<HeadersEntry>).headers);
}

/** All values of the header `name` in one block, in order. */
export function headerValues(block: HeaderBlock | undefined, name: string): HeaderValue[] {
  if (!block) return [];
  const lower = name.toLowerCase();
  const out: HeaderValue[] = [];
  for (const field of block) {
    for (const [k, v] of Object.entries(field)) {
      if (k.toLowerCase() === lower) out.push(v);
    }
  }
  return out;
}

/** The first value of `name` as a string (a list gives its first item). */
export function header(block: HeaderBlock | undefined, name: string): string | undefined {
  const v = headerValues(block, name)[0];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : v;
}

/** A header's value as a list (a single string becomes a one-item list). */
export function headerList(block: HeaderBlock | undefined, name: string): string[] {
  const v = headerValues(block, name)[0];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The header blocks of the envelope, newest first. */
export function headerBlocks(doc: PlaceholderDocument): HeaderBlock[] {
  return (doc.envelope ?? []).filter(isHeadersEntry).map((e) => e.headers);
}

/**
 * The origin header block: the oldest block that names a From (the author's
 * composition). Envelope entries are newest first, so search from the end.
 */
export function originBlock(doc: PlaceholderDocument): HeaderBlock {
  const blocks = headerBlocks(doc);
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i];
    if (b && header(b, 'From') !== undefined) return b;
  }
  return blocks[blocks.length - 1] ?? [];
}

/** The newest value of `name` anywhere in the envelope. */
export function newestHeader(doc: PlaceholderDocument, name: string): string | undefined {
  for (const b of headerBlocks(doc)) {
    const v = header(b, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

// ---------------------------------------------------------------- parameters

export interface ParsedHeader {
  value: string;
  params: Record<string, string>;
}

/**
 * Parses `type/sub; a="x"; b='y'; c=z` (RFC 2045 style, plus the seed's
 * single quotes, plus RFC 2231 `name*=utf-8''...` for filenames).
 */
export function parseParams(input: string): ParsedHeader {
  const params: Record<string, string> = {};
  let i = input.indexOf(';');
  const value = (i < 0 ? input : input.slice(0, i)).trim();
  while (i >= 0 && i < input.length) {
    i++; // past ';'
    while (i < input.length && /\s/.test(input.charAt(i))) i++;
    const eq = input.indexOf('=', i);
    if (eq < 0) break;
    const name = input.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < input.length && /\s/.test(input.charAt(i))) i++;
    let val = '';
    const q = input.charAt(i);
    if (q === '"' || q === "'") {
      i++;
      while (i < input.length && input.charAt(i) !== q) {
        if (input.charAt(i) === '\\' && i + 1 < input.length) i++;
        val += input.charAt(i);
        i++;
      }
      i++; // closing quote
      const next = input.indexOf(';', i);
      i = next;
    } else {
      const next = input.indexOf(';', i);
      val = (next < 0 ? input.slice(i) : input.slice(i, next)).trim();
      i = next;
    }
    if (name.endsWith('*')) {
      const m = /^([^']*)'[^']*'(.*)$/.exec(val);
      const base = name.slice(0, -1);
      try {
        params[base] = decodeURIComponent(m ? (m[2] ?? '') : val);
      } catch {
        params[base] = val;
      }
    } else if (name && !(name in params)) {
      params[name] = val;
    }
    if (i < 0) break;
  }
  return { value, params };
}

/** Quotes a parameter value for a header (always double quotes). */
export function quoteParam(v: string): string {
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`;
}

export function stripAngle(v: string): string {
  const t = v.trim();
  return t.startsWith('<') && t.endsWith('>') ? t.slice(1, -1) : t;
}

// --------------------------------------------------------------- leaf parts

export interface LeafInfo {
  digest: string;
  size: number;
  /** The real media type, e.g. `image/png` or `text/plain; charset=UTF-8`. */
  type: string;
  /** `type` without parameters, lower-cased. */
  mediaType: string;
  disposition: 'inline' | 'attachment';
  filename?: string;
}

export function leafInfo(part: Part): LeafInfo | undefined {
  if (part.parts && part.parts.length > 0) return undefined;
  const cid = header(part.headers, 'Content-ID');
  if (!cid) return undefined;
  const types = headerList(part.headers, 'Content-Type');
  let outer = types[0] ?? 'application/octet-stream';
  let real = outer;
  if (parseParams(outer).value.toLowerCase() === EXTERNAL_BODY_TYPE) {
    real = types[1] ?? 'application/octet-stream';
  } else {
    outer = '';
  }
  const size = Number.parseInt(parseParams(outer).params.size ?? '', 10);
  const disp = parseParams(header(part.headers, 'Content-Disposition') ?? 'inline');
  return {
    digest: stripAngle(cid),
    size: Number.isFinite(size) ? size : 0,
    type: real,
    mediaType: parseParams(real).value.toLowerCase(),
    disposition: disp.value.toLowerCase() === 'attachment' ? 'attachment' : 'inline',
    ...(disp.params.filename !== undefined ? { filename: disp.params.filename } : {}),
  };
}

export function externalBodyType(size: number): string {
  return `${EXTERNAL_BODY_TYPE}; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="${size}"`;
}

export interface LeafInput {
  digest: string;
  size: number;
  type: string;
  disposition: 'inline' | 'attachment';
  filename?: string;
}

export function buildLeaf(l: LeafInput): Part {
  const disp =
    l.disposition === 'attachment'
      ? `attachment; filename=${quoteParam(l.filename ?? 'attachment')}`
      : 'inline';
  return {
    headers: [
      { 'Content-Disposition': disp },
      { 'Content-ID': `<${l.digest}>` },
      { 'Content-Type': [externalBodyType(l.size), l.type] },
    ],
  };
}

/** Every leaf of the body, depth first, with the multipart type it sits in. */
export function walkLeaves(parts: Part[], parentType = 'multipart/mixed'): { part: Part; parent: string }[] {
  const out: { part: Part; parent: string }[] = [];
  for (const p of parts) {
    if (p.parts && p.parts.length > 0) {
      const t = parseParams(header(p.headers, 'Content-Type') ?? 'multipart/mixed').value.toLowerCase();
      out.push(...walkLeaves(p.parts, t));
    } else {
      out.push({ part: p, parent: parentType });
    }
  }
  return out;
}
