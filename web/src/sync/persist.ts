// IndexedDB copy of the synced mail, so the mailbox opens and reads offline.
// It holds messages, inline texts and the sync state: never a token.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { InlineContent } from '../model/message';
import type { MessageObject } from '../model/placeholder';
import type { MailState } from './store';

interface Schema extends DBSchema {
  messages: { key: string; value: MessageObject };
  inline: { key: string; value: InlineContent };
  meta: { key: string; value: string };
}

export interface CachedMail {
  account: string;
  mail: MailState;
}

export interface MailCache {
  load(): Promise<CachedMail | undefined>;
  /** Writes one sync answer's effect. */
  saveDelta(account: string, state: string, changed: MessageObject[], destroyed: string[], inline: Record<string, InlineContent>): Promise<void>;
  /** Writes a whole new copy (after a full sync). */
  replaceAll(account: string, mail: MailState): Promise<void>;
  clear(): Promise<void>;
}

export const DB_NAME = 'federizer-webmail';

export class IdbMailCache implements MailCache {
  private db: Promise<IDBPDatabase<Schema>> | undefined;

  constructor(private readonly name = DB_NAME) {}

  private open(): Promise<IDBPDatabase<Schema>> {
    this.db ??= openDB<Schema>(this.name, 1, {
      upgrade(db) {
        db.createObjectStore('messages', { keyPath: 'id' });
        db.createObjectStore('inline');
        db.createObjectStore('meta');
      },
    });
    return this.db;
  }

  async load(): Promise<CachedMail | undefined> {
    const db = await this.open();
    const tx = db.transaction(['messages', 'inline', 'meta'], 'readonly');
    const account = await tx.objectStore('meta').get('account');
    if (!account) return undefined;
    const state = await tx.objectStore('meta').get('state');
    const messages: Record<string, MessageObject> = {};
    for (const m of await tx.objectStore('messages').getAll()) messages[m.id] = m;
    const inline: Record<string, InlineContent> = {};
    let cursor = await tx.objectStore('inline').openCursor();
    while (cursor) {
      inline[cursor.key] = cursor.value;
      cursor = await cursor.continue();
    }
    await tx.done;
    return { account, mail: { ...(state ? { state } : {}), messages, inline } };
  }

  async saveDelta(
    account: string,
    state: string,
    changed: MessageObject[],
    destroyed: string[],
    inline: Record<string, InlineContent>,
  ): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(['messages', 'inline', 'meta'], 'readwrite');
    const ms = tx.objectStore('messages');
    const is = tx.objectStore('inline');
    const meta = tx.objectStore('meta');
    const ops: Promise<unknown>[] = [];
    for (const m of changed) ops.push(ms.put(m));
    for (const id of destroyed) ops.push(ms.delete(id));
    for (const [d, c] of Object.entries(inline)) ops.push(is.put(c, d));
    ops.push(meta.put(account, 'account'), meta.put(state, 'state'));
    await Promise.all([...ops, tx.done]);
  }

  async replaceAll(account: string, mail: MailState): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(['messages', 'inline', 'meta'], 'readwrite');
    const ms = tx.objectStore('messages');
    const is = tx.objectStore('inline');
    const meta = tx.objectStore('meta');
    const ops: Promise<unknown>[] = [ms.clear(), is.clear(), meta.clear()];
    for (const m of Object.values(mail.messages)) ops.push(ms.put(m));
    for (const [d, c] of Object.entries(mail.inline)) ops.push(is.put(c, d));
    ops.push(meta.put(account, 'account'));
    if (mail.state) ops.push(meta.put(mail.state, 'state'));
    await Promise.all([...ops, tx.done]);
  }

  async clear(): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(['messages', 'inline', 'meta'], 'readwrite');
    await Promise.all([
      tx.objectStore('messages').clear(),
      tx.objectStore('inline').clear(),
      tx.objectStore('meta').clear(),
      tx.done,
    ]);
  }
}

/** A cache that keeps nothing (when IndexedDB is unavailable). */
export const noCache: MailCache = {
  load: () => Promise.resolve(undefined),
  saveDelta: () => Promise.resolve(),
  replaceAll: () => Promise.resolve(),
  clear: () => Promise.resolve(),
};
