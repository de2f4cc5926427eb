// The sync loop (SPEC §11): long-polls /api/v1/sync, follows `more` at once,
// starts over with a full sync on 410 Gone, and backs off exponentially (with
// jitter) while the mailbox fails or cannot be reached.
import { ApiError, isAbort } from '../api/errors';
import type { SyncResponse } from '../api/types';
import type { MessageObject } from '../model/placeholder';
import { noCache, type MailCache } from './persist';
import { applySync, emptyMail, type MailState, type MailStore } from './store';

export type SyncStatus = 'idle' | 'syncing' | 'waiting' | 'backoff' | 'offline' | 'stopped' | 'signedOut';

export interface SyncApi {
  sync(since: string | undefined, wait: number, signal?: AbortSignal): Promise<SyncResponse>;
}

export interface SyncOptions {
  api: SyncApi;
  store: MailStore;
  account: string;
  cache?: MailCache;
  /** Long-poll seconds (≤ 30). */
  wait?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** 0..1; 0.5 means no jitter. */
  random?: () => number;
  isOnline?: () => boolean;
  /** A request with no answer after wait + this is abandoned (ms). */
  timeoutSlackMs?: number;
  /**
   * A long poll that comes back sooner than this (ms) with nothing new did
   * not wait: the MBX answers at once when all its waiter slots are taken
   * (or it caps `wait` at 0). The loop then pauses, growing like the error
   * back-off (at most 10 s), instead of asking again at once in a tight loop.
   */
  quickEmptyMs?: number;
  now?: () => number;
  onStatus?: (s: SyncStatus, detail?: { error?: unknown; retryInMs?: number }) => void;
  /** Messages that arrived in the inbox since the last call (not on full syncs). */
  onNewMail?: (messages: MessageObject[]) => void;
  /** The token could not be renewed: the person must sign in again. */
  onAuthLost?: () => void;
}

/** The delay before retry number `failures` (1-based), in ms. */
export function backoffDelay(failures: number, base: number, max: number, random: number): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.8 + 0.4 * random));
}

export class SyncEngine {
  private running = false;
  private controller: AbortController | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  /** Long polls in a row that returned at once with nothing new. */
  private quickEmpty = 0;
  /** The full sync being gathered page by page, swapped in at its end. */
  private pending: MailState | undefined;
  status: SyncStatus = 'idle';
  /** Resolves when the loop has ended (for tests and logout). */
  done: Promise<void> = Promise.resolve();

  constructor(private readonly o: SyncOptions) {}

  private get cache(): MailCache {
    return this.o.cache ?? noCache;
  }

  private setStatus(s: SyncStatus, detail?: { error?: unknown; retryInMs?: number }): void {
    this.status = s;
    this.o.onStatus?.(s, detail);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.loop().catch((e: unknown) => {
      console.error('sync loop ended', e);
    });
  }

  stop(): void {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
    this.setStatus('stopped');
  }

  /** Ends a pause (back-off, offline) now: e.g. the browser came online. */
  nudge(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    const { store } = this.o;
    const wait = Math.min(30, this.o.wait ?? 30);
    const base = this.o.baseDelayMs ?? 1_000;
    const max = this.o.maxDelayMs ?? 60_000;
    const random = this.o.random ?? Math.random;
    const online = this.o.isOnline ?? (() => (typeof navigator === 'undefined' ? true : navigator.onLine));
    const now = this.o.now ?? Date.now;
    const quickMs = this.o.quickEmptyMs ?? 1_000;
    let paging = false;

    while (this.running) {
      if (!online()) {
        this.setStatus('offline');
        await this.sleep(5_000);
        continue;
      }
      const since = this.pending ? this.pending.state : store.get().state;
      const full = since === undefined || this.pending !== undefined;
      if (since === undefined) this.pending = emptyMail();
      const w = since === undefined || paging ? 0 : wait;
      this.controller = new AbortController();
      const ctl = this.controller;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ctl.abort();
      }, w * 1000 + (this.o.timeoutSlackMs ?? 20_000));
      this.setStatus(w > 0 ? 'waiting' : 'syncing');
      const asked = now();
      try {
        const r = await this.o.api.sync(since, w, ctl.signal);
        clearTimeout(timer);
        if (!this.running) break;
        this.failures = 0;
        paging = r.more;
        if (full && this.pending) {
          this.pending = applySync(this.pending, r);
          if (!r.more) {
            const all = this.pending;
            this.pending = undefined;
            store.replace(all);
            await this.cache.replaceAll(this.o.account, all).catch(() => undefined);
          }
        } else {
          const before = store.get().messages;
          store.update((s) => applySync(s, r));
          const arrived = (r.changed ?? []).filter(
            (m) => m.folder === 'inbox' && !m.flags.seen && !(m.id in before),
          );
          if (arrived.length) this.o.onNewMail?.(arrived);
          await this.cache
            .saveDelta(this.o.account, r.state, r.changed ?? [], r.destroyed ?? [], r.inline ?? {})
            .catch(() => undefined);
        }
        if (!paging) this.setStatus('idle');
        const nothing = !r.more && r.state === since && !r.changed?.length && !r.destroyed?.length;
        if (w > 0 && nothing && now() - asked < quickMs) {
          this.quickEmpty++;
          await this.sleep(backoffDelay(this.quickEmpty, base, Math.min(max, 10_000), random()));
        } else {
          this.quickEmpty = 0;
        }
      } catch (e) {
        clearTimeout(timer);
        if (!this.running) break;
        if (e instanceof ApiError && e.status === 410) {
          // Our state is too old: start over with a full sync; the current
          // content stays on screen until the new copy is complete.
          this.pending = emptyMail();
          paging = false;
          store.update((s) => {
            const copy = { ...s };
            delete copy.state;
            return copy;
          });
          continue;
        }
        if (e instanceof ApiError && e.status === 401) {
          this.running = false;
          this.setStatus('signedOut', { error: e });
          this.o.onAuthLost?.();
          break;
        }
        if (isAbort(e) && !timedOut) break;
        this.failures++;
        const delay = backoffDelay(this.failures, base, max, random());
        this.setStatus('backoff', { error: e, retryInMs: delay });
        await this.sleep(delay);
      }
    }
  }
}
