// Wiring: the store, the API, the sync loop and the actions of one signed-in
// (or offline) mailbox, built once and handed to the React tree.
import { MailboxApi, type ApiOptions } from '../api/client';
import { describeError } from '../api/errors';
import type { Address } from '../model/address';
import type { MessageObject } from '../model/placeholder';
import { SyncEngine, type SyncStatus } from '../sync/engine';
import { IdbMailCache, noCache, type MailCache } from '../sync/persist';
import { MailStore } from '../sync/store';
import { MailActions } from './actions';

/** A value React can subscribe to. */
export class Observable<T> {
  private readonly listeners = new Set<() => void>();
  constructor(private value: T) {}
  get = (): T => this.value;
  set(v: T): void {
    if (Object.is(v, this.value)) return;
    this.value = v;
    for (const l of this.listeners) l();
  }
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
}

export interface SyncInfo {
  status: SyncStatus;
  error?: string;
  retryInMs?: number;
}

export interface Services {
  account: Address;
  store: MailStore;
  /** Undefined when the mailbox was opened offline from the device's copy. */
  actions?: MailActions;
  sync: Observable<SyncInfo>;
  newMail: Set<(m: MessageObject[]) => void>;
  /** Signs out: revokes tokens, stops sync, forgets the device's copy. */
  logout(): Promise<void>;
  /** Stops syncing (the session ended); keeps the device's copy. */
  stop(): void;
  demo?: boolean;
}

export function openCache(): MailCache {
  return typeof indexedDB === 'undefined' ? noCache : new IdbMailCache();
}

/** Fills the store from the device's copy, if it is this account's. */
export async function loadCached(store: MailStore, cache: MailCache, account: string): Promise<boolean> {
  try {
    const cached = await cache.load();
    if (!cached) return false;
    if (account && cached.account !== account) {
      await cache.clear();
      return false;
    }
    store.replace(cached.mail, true);
    return true;
  } catch {
    return false;
  }
}

export interface OnlineOptions {
  account: Address;
  api: ApiOptions;
  cache: MailCache;
  /** Called after the loop has stopped for good because the token is gone. */
  onAuthLost: () => void;
  logout: () => Promise<void>;
  demo?: boolean;
}

export async function onlineServices(o: OnlineOptions): Promise<Services> {
  const store = new MailStore();
  await loadCached(store, o.cache, o.account.address);
  const api = new MailboxApi(o.api);
  const sync = new Observable<SyncInfo>({ status: 'idle' });
  const newMail = new Set<(m: MessageObject[]) => void>();
  const engine = new SyncEngine({
    api,
    store,
    account: o.account.address,
    cache: o.cache,
    onStatus: (status, d) => {
      const e = d?.error;
      sync.set({
        status,
        ...(e !== undefined ? { error: describeError(e) } : {}),
        ...(d?.retryInMs !== undefined ? { retryInMs: d.retryInMs } : {}),
      });
    },
    onNewMail: (m) => newMail.forEach((l) => l(m)),
    onAuthLost: o.onAuthLost,
  });
  const nudge = (): void => engine.nudge();
  window.addEventListener('online', nudge);
  engine.start();
  return {
    account: o.account,
    store,
    actions: new MailActions(api, store, o.account),
    sync,
    newMail,
    ...(o.demo ? { demo: true } : {}),
    stop() {
      window.removeEventListener('online', nudge);
      engine.stop();
    },
    async logout() {
      window.removeEventListener('online', nudge);
      engine.stop();
      await o.cache.clear().catch(() => undefined);
      await o.logout();
    },
  };
}

export async function offlineServices(cache: MailCache): Promise<Services | undefined> {
  const store = new MailStore();
  const cached = await cache.load().catch(() => undefined);
  if (!cached) return undefined;
  store.replace(cached.mail, true);
  return {
    account: { address: cached.account },
    store,
    sync: new Observable<SyncInfo>({ status: 'offline' }),
    newMail: new Set(),
    stop: () => undefined,
    async logout() {
      await cache.clear().catch(() => undefined);
    },
  };
}
