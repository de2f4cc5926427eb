// An in-page stand-in for the mailbox API (the contract of src/api/), used
// by the `?demo` mode (development and `--mode demo` builds only) and by
// tests. It keeps everything in memory and answers like the real MBX would:
// sync with states, paging and 410, drafts, send with delivery states, recall.
import type { DeliveryStatus, ForwardingRule, SyncResponse } from '../api/types';
import type { XhrLike } from '../api/upload';
import type { InlineContent } from '../model/message';
import { domainOf, parseAddressList } from '../model/address';
import {
  header,
  leafInfo,
  originBlock,
  walkLeaves,
  type Folder,
  type MessageObject,
  type PlaceholderDocument,
} from '../model/placeholder';

export async function sha256b64url(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  let s = '';
  for (const b of d) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

function err(status: number, error: string, description: string): Response {
  return json(status, { error, error_description: description });
}

export function rfc5322(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

interface StatusRec {
  status: DeliveryStatus;
  timers: ReturnType<typeof setTimeout>[];
}

export interface FakeOptions {
  self: string;
  /** Sync page size. */
  pageSize?: number;
  /** Inline texts up to this size travel in sync. */
  inlineMax?: number;
  /** Delivery state steps (ms); 0 disables the timers. */
  deliveryStepMs?: number;
}

export class FakeMailbox {
  readonly resources = new Map<string, { bytes: Uint8Array; type: string }>();
  readonly messages = new Map<string, MessageObject>();
  private readonly modseq = new Map<string, number>();
  private destroyed: { id: string; seq: number }[] = [];
  private seq = 1;
  /** States older than this answer 410. */
  minState = 0;
  private nextId = 1;
  private readonly waiters = new Set<() => void>();
  private readonly statuses = new Map<string, StatusRec>();
  forwarding: ForwardingRule = { enabled: false, to: '', keep_copy: true };
  /** Counts requests, for tests. */
  calls: string[] = [];

  constructor(readonly o: FakeOptions) {}

  private touch(id: string): void {
    this.modseq.set(id, ++this.seq);
    for (const w of this.waiters) w();
  }

  async putResource(bytes: Uint8Array, type: string): Promise<{ digest: string; size: number; type: string }> {
    const digest = await sha256b64url(bytes);
    this.resources.set(digest, { bytes, type });
    return { digest, size: bytes.length, type };
  }

  putText(text: string, type = 'text/plain; charset=UTF-8'): Promise<{ digest: string; size: number; type: string }> {
    return this.putResource(new TextEncoder().encode(text), type);
  }

  /** Adds a message directly (fixtures, incoming mail). */
  add(folder: Folder, document: PlaceholderDocument, flags = { seen: false, flagged: false }): MessageObject {
    const id = `m${this.nextId++}`;
    const m: MessageObject = { id, folder, flags, document };
    this.messages.set(id, m);
    this.touch(id);
    return m;
  }

  private remove(id: string): void {
    this.messages.delete(id);
    this.modseq.delete(id);
    this.destroyed.push({ id, seq: ++this.seq });
    for (const w of this.waiters) w();
  }

  private inlineFor(m: MessageObject): Record<string, InlineContent> {
    const out: Record<string, InlineContent> = {};
    const dec = new TextDecoder();
    for (const { part } of walkLeaves(m.document.body.parts)) {
      const info = leafInfo(part);
      if (!info || info.disposition !== 'inline' || !info.mediaType.startsWith('text/')) continue;
      const r = this.resources.get(info.digest);
      if (r && r.bytes.length <= (this.o.inlineMax ?? 256 * 1024)) {
        out[info.digest] = { type: info.type, text: dec.decode(r.bytes) };
      }
    }
    return out;
  }

  syncPage(since: number | undefined): SyncResponse {
    const from = since ?? 0;
    const changed = [...this.messages.values()]
      .filter((m) => (this.modseq.get(m.id) ?? 0) > from)
      .sort((a, b) => (this.modseq.get(a.id) ?? 0) - (this.modseq.get(b.id) ?? 0));
    const size = this.o.pageSize ?? 50;
    const page = changed.slice(0, size);
    const more = changed.length > size;
    const last = more ? (this.modseq.get(page[page.length - 1]?.id ?? '') ?? this.seq) : this.seq;
    const destroyed = since === undefined ? [] : this.destroyed.filter((d) => d.seq > from && d.seq <= last).map((d) => d.id);
    const inline: Record<string, InlineContent> = {};
    for (const m of page) Object.assign(inline, this.inlineFor(m));
    return { state: String(last), changed: page, destroyed, inline, more };
  }

  private async sync(url: URL, signal: AbortSignal | undefined): Promise<Response> {
    const sinceRaw = url.searchParams.get('since');
    const wait = Math.min(30, Number(url.searchParams.get('wait') ?? 0));
    if (sinceRaw === null) return json(200, this.syncPage(undefined));
    const since = Number(sinceRaw);
    if (!Number.isFinite(since) || since < this.minState || since > this.seq) {
      return err(410, 'state_too_old', 'sync state expired; resync');
    }
    if (since === this.seq && wait > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, wait * 1000);
        this.waiters.add(done);
        signal?.addEventListener('abort', done);
      });
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    }
    return json(200, this.syncPage(since));
  }

  /** Completes a draft document as the server does (Message-ID, X-Thread-ID). */
  private complete(doc: PlaceholderDocument): PlaceholderDocument {
    const copy = structuredClone(doc);
    const entry = copy.envelope.find((e) => 'headers' in e);
    if (!entry || !('headers' in entry)) return copy;
    const h = entry.headers;
    const domain = domainOf(parseAddressList(header(h, 'From'))[0]?.address ?? this.o.self);
    const mid = header(h, 'Message-ID') ?? `<${crypto.randomUUID()}@${domain}>`;
    if (!header(h, 'Message-ID')) h.splice(h.length - 1, 0, { 'Message-ID': mid });
    if (!header(h, 'X-Thread-ID')) h.splice(h.length - 1, 0, { 'X-Thread-ID': mid });
    return copy;
  }

  private checkLeaves(doc: PlaceholderDocument): string | undefined {
    for (const { part } of walkLeaves(doc.body?.parts ?? [])) {
      const info = leafInfo(part);
      if (!info) return 'a leaf part without Content-ID';
      const r = this.resources.get(info.digest);
      if (!r) return `unknown resource ${info.digest}`;
      if (r.bytes.length !== info.size) return `size mismatch for ${info.digest}`;
    }
    return undefined;
  }

  private send(m: MessageObject): MessageObject {
    const doc = structuredClone(m.document);
    const entry = doc.envelope.find((e) => 'headers' in e);
    if (entry && 'headers' in entry) entry.headers.unshift({ Date: rfc5322(new Date()) });
    const sent: MessageObject = { ...m, folder: 'sent', document: doc, flags: { seen: true, flagged: false } };
    this.messages.set(m.id, sent);
    this.touch(m.id);
    const origin = originBlock(doc);
    const rcpts = ['To', 'Cc', 'Bcc'].flatMap((n) => parseAddressList(header(origin, n)));
    const byDomain = new Map<string, string[]>();
    for (const r of rcpts) {
      const d = domainOf(r.address);
      byDomain.set(d, [...(byDomain.get(d) ?? []), r.address]);
    }
    const now = new Date().toISOString();
    const rec: StatusRec = {
      status: {
        id: m.id,
        recallable: true,
        domains: [...byDomain].map(([domain, recipients]) => ({ domain, recipients, state: 'queued', updated: now })),
      },
      timers: [],
    };
    this.statuses.set(m.id, rec);
    const step = this.o.deliveryStepMs ?? 2500;
    if (step > 0) {
      rec.status.domains.forEach((d, i) => {
        rec.timers.push(
          setTimeout(() => {
            d.state = d.domain.endsWith('.invalid') ? 'failed' : 'transferred';
            if (d.state === 'failed') d.reason = 'no mailbox service found for the domain';
            d.updated = new Date().toISOString();
          }, step * (i + 1)),
          setTimeout(() => {
            if (d.state !== 'transferred') return;
            d.state = 'fetched';
            d.updated = new Date().toISOString();
            rec.status.recallable = rec.status.domains.every((x) => x.state !== 'fetched');
          }, step * (i + 3)),
        );
      });
    }
    // Mail to oneself arrives in the inbox too.
    if (rcpts.some((r) => r.address.toLowerCase() === this.o.self.toLowerCase())) {
      const copy = structuredClone(doc);
      copy.envelope.unshift({
        headers: [
          { 'Message-ID': header(origin, 'Message-ID') ?? '' },
          { Received: `from ${domainOf(this.o.self)} by ${domainOf(this.o.self)}; ${rfc5322(new Date())}` },
        ],
      });
      this.add('inbox', copy);
    }
    return sent;
  }

  /** A `fetch` that serves the mailbox API. */
  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input, 'https://mbx.example.com/');
    const method = (init.method ?? 'GET').toUpperCase();
    const path = url.pathname.replace(/^.*?\/api\/v1\//, '');
    this.calls.push(`${method} ${path}`);
    const body = (): unknown => JSON.parse(typeof init.body === 'string' ? init.body : '{}');
    const seg = path.split('/');
    try {
      if (path === 'sync' && method === 'GET') return await this.sync(url, init.signal ?? undefined);
      if (seg[0] === 'resources') {
        if (method === 'POST' && seg.length === 1) {
          const b = init.body;
          const bytes =
            b instanceof Blob ? new Uint8Array(await b.arrayBuffer()) : new TextEncoder().encode(typeof b === 'string' ? b : '');
          const type = new Headers(init.headers).get('Content-Type') ?? 'application/octet-stream';
          const r = await this.putResource(bytes, type);
          return json(201, { ...r, content_id: r.digest });
        }
        const r = this.resources.get(decodeURIComponent(seg[1] ?? ''));
        if (!r) return err(404, 'not_found', 'no such resource');
        return new Response(r.bytes as BlobPart, { status: 200, headers: { 'Content-Type': r.type } });
      }
      if (seg[0] === 'settings' && seg[1] === 'forwarding') {
        if (method === 'PUT') this.forwarding = body() as ForwardingRule;
        return json(200, this.forwarding);
      }
      if (seg[0] !== 'messages') return err(404, 'not_found', path);
      if (seg.length === 1 && method === 'POST') {
        const doc = body() as PlaceholderDocument;
        const bad = this.checkLeaves(doc);
        if (bad) return err(400, 'invalid_document', bad);
        return json(201, this.add('drafts', this.complete(doc), { seen: true, flagged: false }));
      }
      const id = decodeURIComponent(seg[1] ?? '');
      const m = this.messages.get(id);
      if (!m) return err(404, 'not_found', 'no such message');
      const action = seg[2];
      if (!action) {
        switch (method) {
          case 'GET':
            return json(200, m);
          case 'PUT': {
            if (header(originBlock(m.document), 'Date')) return err(409, 'conflict', 'already sent');
            const doc = body() as PlaceholderDocument;
            const bad = this.checkLeaves(doc);
            if (bad) return err(400, 'invalid_document', bad);
            const next = { ...m, document: this.complete(doc) };
            this.messages.set(id, next);
            this.touch(id);
            return json(200, next);
          }
          case 'PATCH': {
            const p = body() as { folder?: Folder; flags?: Partial<MessageObject['flags']> };
            const next = { ...m, folder: p.folder ?? m.folder, flags: { ...m.flags, ...p.flags } };
            this.messages.set(id, next);
            this.touch(id);
            return json(200, next);
          }
          case 'DELETE':
            if (m.folder === 'trash') this.remove(id);
            else {
              this.messages.set(id, { ...m, folder: 'trash' });
              this.touch(id);
            }
            return new Response(null, { status: 204 });
        }
      }
      if (action === 'send' && method === 'POST') {
        if (header(originBlock(m.document), 'Date')) return err(409, 'conflict', 'already sent');
        return json(202, this.send(m));
      }
      if (action === 'status' && method === 'GET') {
        const s = this.statuses.get(id);
        return s ? json(200, s.status) : err(404, 'not_found', 'no delivery for this message');
      }
      if (action === 'recall' && method === 'POST') {
        const s = this.statuses.get(id);
        if (!s) return err(404, 'not_found', 'no delivery for this message');
        if (!s.status.recallable) return err(409, 'conflict', 'already fetched');
        s.timers.forEach(clearTimeout);
        s.status.recallable = false;
        for (const d of s.status.domains) {
          if (d.state !== 'failed') {
            d.state = 'failed';
            d.reason = 'recalled by the sender';
            d.updated = new Date().toISOString();
          }
        }
        return json(200, s.status);
      }
      return err(405, 'method_not_allowed', `${method} ${path}`);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      return err(400, 'invalid_request', e instanceof Error ? e.message : String(e));
    }
  };

  /** An XMLHttpRequest stand-in whose uploads take time and report progress. */
  xhr = (): XhrLike => new FakeXhr(this);
}

class FakeXhr implements XhrLike {
  status = 0;
  statusText = '';
  responseText = '';
  upload: XhrLike['upload'] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  private method = 'GET';
  private url = '';
  private readonly headers: Record<string, string> = {};
  private timer: ReturnType<typeof setInterval> | undefined;
  private aborted = false;

  constructor(private readonly server: FakeMailbox) {}

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  send(body: Blob | ArrayBuffer | string): void {
    const blob = body instanceof Blob ? body : new Blob([body]);
    const total = blob.size;
    // About 2 MB/s, at least half a second: visible progress in the demo.
    const steps = Math.max(5, Math.min(40, Math.ceil(total / 100_000)));
    let i = 0;
    this.timer = setInterval(() => {
      i++;
      this.upload.onprogress?.({ loaded: Math.min(total, Math.round((total * i) / steps)), total, lengthComputable: true });
      if (i >= steps) {
        clearInterval(this.timer);
        void this.server
          .fetch(this.url, { method: this.method, headers: this.headers, body: blob })
          .then(async (res) => {
            if (this.aborted) return;
            this.status = res.status;
            this.statusText = res.statusText;
            this.responseText = await res.text();
            this.onload?.();
          });
      }
    }, 100);
  }
  abort(): void {
    this.aborted = true;
    clearInterval(this.timer);
    this.onabort?.();
  }
}
