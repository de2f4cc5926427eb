// The attachments of one compose form: each file uploads at once, with its
// progress, and can be cancelled; a finished upload becomes a reference
// (digest, size, type, name) for the draft. Plain TypeScript, so tests can
// drive it with a fake XMLHttpRequest.
import { describeError, isAbort } from '../api/errors';
import type { ResourceInfo } from '../api/types';
import type { UploadProgress } from '../api/upload';
import type { AttachmentRef } from '../model/compose';

export type Uploader = (
  file: Blob,
  type: string,
  o: { onProgress: (p: UploadProgress) => void; signal: AbortSignal },
) => Promise<ResourceInfo>;

export interface UploadItem {
  key: string;
  filename: string;
  type: string;
  size: number;
  loaded: number;
  state: 'uploading' | 'done' | 'failed' | 'cancelled';
  error?: string;
  ref?: AttachmentRef;
}

let counter = 0;

export class UploadManager {
  private items: UploadItem[] = [];
  private readonly controllers = new Map<string, AbortController>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly upload: Uploader, initial: AttachmentRef[] = []) {
    this.items = initial.map((ref) => ({
      key: `u${++counter}`,
      filename: ref.filename,
      type: ref.type,
      size: ref.size,
      loaded: ref.size,
      state: 'done',
      ref,
    }));
  }

  get = (): UploadItem[] => this.items;

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  private set(key: string, patch: Partial<UploadItem>): void {
    this.items = this.items.map((it) => (it.key === key ? { ...it, ...patch } : it));
    for (const l of this.listeners) l();
  }

  private setItems(items: UploadItem[]): void {
    this.items = items;
    for (const l of this.listeners) l();
  }

  /** Starts uploading `file`; resolves when it ends, however it ends. */
  add(file: Blob, filename: string): Promise<UploadItem> {
    const key = `u${++counter}`;
    const type = file.type || 'application/octet-stream';
    const ctl = new AbortController();
    this.controllers.set(key, ctl);
    this.setItems([
      ...this.items,
      { key, filename, type, size: file.size, loaded: 0, state: 'uploading' },
    ]);
    return this.upload(file, type, {
      signal: ctl.signal,
      onProgress: (p) => this.set(key, { loaded: p.loaded }),
    })
      .then((info) => {
        this.set(key, {
          state: 'done',
          loaded: file.size,
          ref: { digest: info.digest, size: info.size, type: info.type || type, filename },
        });
      })
      .catch((e: unknown) => {
        if (isAbort(e)) this.set(key, { state: 'cancelled' });
        else this.set(key, { state: 'failed', error: describeError(e) });
      })
      .then(() => {
        this.controllers.delete(key);
        return this.items.find((i) => i.key === key) as UploadItem;
      });
  }

  /** Cancels an upload in flight, or removes a finished or failed one. */
  cancel(key: string): void {
    const ctl = this.controllers.get(key);
    if (ctl) ctl.abort();
    this.setItems(this.items.filter((i) => i.key !== key));
  }

  get busy(): boolean {
    return this.items.some((i) => i.state === 'uploading');
  }

  /** The finished attachments, in the order they were added. */
  refs(): AttachmentRef[] {
    return this.items.flatMap((i) => (i.state === 'done' && i.ref ? [i.ref] : []));
  }

  cancelAll(): void {
    for (const c of this.controllers.values()) c.abort();
  }
}
