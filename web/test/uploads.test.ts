import { describe, expect, it, vi } from 'vitest';
import { MailboxApi } from '../src/api/client';
import { ApiError } from '../src/api/errors';
import { xhrSend, type XhrLike } from '../src/api/upload';
import { UploadManager } from '../src/ui/uploads';

/** A controllable XMLHttpRequest. */
class ManualXhr implements XhrLike {
  static last: ManualXhr | undefined;
  status = 0;
  statusText = '';
  responseText = '';
  upload: XhrLike['upload'] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  aborted = false;
  constructor() {
    ManualXhr.last = this;
  }
  open(m: string, u: string) {
    this.method = m;
    this.url = u;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  send(b: unknown) {
    this.body = b;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true });
  }
  respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

const INFO = { digest: 'd'.repeat(43), content_id: 'd'.repeat(43), size: 5, type: 'image/png' };
const file = () => new Blob([new Uint8Array([1, 2, 3, 4, 5])], { type: 'image/png' });

describe('xhrSend', () => {
  it('reports progress and resolves with the answer', async () => {
    const progress: number[] = [];
    const p = xhrSend({ method: 'POST', url: '/u', headers: { A: 'b' }, body: file(), onProgress: (e) => progress.push(e.loaded), xhr: () => new ManualXhr() });
    const x = ManualXhr.last!;
    expect(x.headers).toEqual({ A: 'b' });
    x.progress(2, 5);
    x.progress(4, 5);
    x.respond(201, INFO);
    await expect(p).resolves.toMatchObject({ status: 201 });
    expect(progress).toEqual([2, 4, 5]);
  });

  it('aborts when the signal fires', async () => {
    const ctl = new AbortController();
    const p = xhrSend({ method: 'POST', url: '/u', headers: {}, body: file(), signal: ctl.signal, xhr: () => new ManualXhr() });
    ctl.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(ManualXhr.last?.aborted).toBe(true);
  });

  it('rejects on a network error', async () => {
    const p = xhrSend({ method: 'POST', url: '/u', headers: {}, body: file(), xhr: () => new ManualXhr() });
    ManualXhr.last?.onerror?.();
    await expect(p).rejects.toBeInstanceOf(TypeError);
  });
});

describe('MailboxApi.uploadResource', () => {
  it('posts raw bytes with the media type and the bearer token', async () => {
    const api = new MailboxApi({
      baseUrl: 'https://mbx.example.com/',
      tokens: { accessToken: () => Promise.resolve('tok'), renew: () => Promise.resolve(false) },
      xhr: () => new ManualXhr(),
    });
    const p = api.uploadResource(file(), 'image/png');
    await vi.waitFor(() => expect(ManualXhr.last?.url).toBe('https://mbx.example.com/api/v1/resources'));
    const x = ManualXhr.last!;
    expect(x.method).toBe('POST');
    expect(x.headers['Content-Type']).toBe('image/png');
    expect(x.headers.Authorization).toBe('Bearer tok');
    x.respond(201, INFO);
    await expect(p).resolves.toEqual(INFO);
  });

  it('renews the token once after a 401 and retries', async () => {
    let token = 'old';
    const xs: ManualXhr[] = [];
    const api = new MailboxApi({
      baseUrl: 'https://mbx.example.com/',
      tokens: {
        accessToken: () => Promise.resolve(token),
        renew: () => {
          token = 'new';
          return Promise.resolve(true);
        },
      },
      xhr: () => {
        const x = new ManualXhr();
        xs.push(x);
        return x;
      },
    });
    const p = api.uploadResource(file(), 'image/png');
    await vi.waitFor(() => expect(xs).toHaveLength(1));
    xs[0]!.respond(401, { error: 'invalid_token' });
    await vi.waitFor(() => expect(xs).toHaveLength(2));
    expect(xs[1]!.headers.Authorization).toBe('Bearer new');
    xs[1]!.respond(201, INFO);
    await expect(p).resolves.toEqual(INFO);
  });

  it('turns an error body into an ApiError', async () => {
    const api = new MailboxApi({
      baseUrl: 'https://mbx.example.com/',
      tokens: { accessToken: () => Promise.resolve('t'), renew: () => Promise.resolve(false) },
      xhr: () => new ManualXhr(),
    });
    const p = api.uploadResource(file(), 'image/png');
    await vi.waitFor(() => expect(ManualXhr.last?.method).toBe('POST'));
    ManualXhr.last!.respond(413, { error: 'too_large', error_description: 'over 1 GiB' });
    await expect(p).rejects.toEqual(new ApiError(413, 'too_large', 'over 1 GiB'));
  });
});

describe('UploadManager', () => {
  function manager() {
    const pending: { resolve: (v: typeof INFO) => void; reject: (e: unknown) => void; progress: (n: number) => void; signal: AbortSignal }[] = [];
    const m = new UploadManager((_f, _t, o) =>
      new Promise((resolve, reject) => {
        pending.push({ resolve, reject, progress: (n) => o.onProgress({ loaded: n, total: 5 }), signal: o.signal });
        o.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      }),
    );
    return { m, pending };
  }

  it('tracks progress and yields the reference for the draft', async () => {
    const { m, pending } = manager();
    const done = m.add(file(), 'Venice.png');
    expect(m.busy).toBe(true);
    pending[0]!.progress(3);
    expect(m.get()[0]).toMatchObject({ loaded: 3, size: 5, state: 'uploading' });
    pending[0]!.resolve(INFO);
    await done;
    expect(m.busy).toBe(false);
    expect(m.refs()).toEqual([{ digest: INFO.digest, size: 5, type: 'image/png', filename: 'Venice.png' }]);
  });

  it('cancels an upload in flight', async () => {
    const { m, pending } = manager();
    const done = m.add(file(), 'big.bin');
    const key = m.get()[0]!.key;
    m.cancel(key);
    expect(pending[0]!.signal.aborted).toBe(true);
    await done;
    expect(m.get()).toEqual([]);
    expect(m.refs()).toEqual([]);
  });

  it('keeps a failure visible with its reason', async () => {
    const { m, pending } = manager();
    const done = m.add(file(), 'x.png');
    pending[0]!.reject(new ApiError(413, 'too_large', 'over the limit'));
    const item = await done;
    expect(item.state).toBe('failed');
    expect(item.error).toBe('over the limit');
    expect(m.refs()).toEqual([]);
  });

  it('starts with the attachments of a forward or a draft', () => {
    const m = new UploadManager(() => Promise.reject(new Error('no')), [{ digest: 'a', size: 1, type: 'image/png', filename: 'a.png' }]);
    expect(m.refs()).toHaveLength(1);
    expect(m.get()[0]?.state).toBe('done');
  });
});
