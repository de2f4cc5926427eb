// Uploads through XMLHttpRequest: fetch() cannot report upload progress.

export interface XhrResult {
  status: number;
  statusText: string;
  text: string;
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/** The part of XMLHttpRequest an upload uses (tests pass a fake). */
export interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Blob | ArrayBuffer | string): void;
  abort(): void;
  readonly status: number;
  readonly statusText: string;
  readonly responseText: string;
  upload: { onprogress: ((ev: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  ontimeout: (() => void) | null;
}

export type XhrFactory = () => XhrLike;

export const browserXhr: XhrFactory = () => new XMLHttpRequest() as unknown as XhrLike;

export interface XhrSendOptions {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Blob | ArrayBuffer | string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  xhr?: XhrFactory;
}

/**
 * Sends one request; resolves with any HTTP answer, rejects with a DOMException
 * "AbortError" when `signal` aborts and with a TypeError when the network fails.
 */
export function xhrSend(o: XhrSendOptions): Promise<XhrResult> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new DOMException('aborted', 'AbortError'));
      return;
    }
    const x = (o.xhr ?? browserXhr)();
    const onAbortSignal = (): void => x.abort();
    const done = (): void => o.signal?.removeEventListener('abort', onAbortSignal);
    x.open(o.method, o.url);
    for (const [k, v] of Object.entries(o.headers)) x.setRequestHeader(k, v);
    const size = o.body instanceof Blob ? o.body.size : o.body instanceof ArrayBuffer ? o.body.byteLength : o.body.length;
    x.upload.onprogress = (ev) => {
      o.onProgress?.({ loaded: ev.loaded, total: ev.lengthComputable ? ev.total : size });
    };
    x.onload = () => {
      done();
      if (x.status >= 200 && x.status < 300) o.onProgress?.({ loaded: size, total: size });
      resolve({ status: x.status, statusText: x.statusText, text: x.responseText });
    };
    x.onerror = () => {
      done();
      reject(new TypeError('network error'));
    };
    x.ontimeout = x.onerror;
    x.onabort = () => {
      done();
      reject(new DOMException('aborted', 'AbortError'));
    };
    o.signal?.addEventListener('abort', onAbortSignal, { once: true });
    x.send(o.body);
  });
}
