import { describe, expect, it } from 'vitest';
import type { MessageObject } from '../src/model/placeholder';
import { IdbMailCache } from '../src/sync/persist';
import { MailStore } from '../src/sync/store';
import { loadCached, offlineServices } from '../src/ui/services';

const msg: MessageObject = { id: 'a', folder: 'inbox', flags: { seen: false, flagged: false }, document: { envelope: [], body: { parts: [] } } };

describe('opening the device copy', () => {
  it('opens read-only from IndexedDB when offline', async () => {
    const cache = new IdbMailCache(`svc-${Math.random()}`);
    expect(await offlineServices(cache)).toBeUndefined();
    await cache.replaceAll('alice@example.com', { state: 's9', messages: { a: msg }, inline: {} });
    const s = await offlineServices(cache);
    expect(s?.account.address).toBe('alice@example.com');
    expect(s?.actions).toBeUndefined();
    expect(s?.store.get().messages.a).toEqual(msg);
    expect(s?.store.get().state).toBe('s9');
    await s?.logout();
    expect(await cache.load()).toBeUndefined();
  });

  it("drops another account's copy", async () => {
    const cache = new IdbMailCache(`svc-${Math.random()}`);
    await cache.replaceAll('bob@example.net', { state: 's1', messages: { a: msg }, inline: {} });
    const store = new MailStore();
    expect(await loadCached(store, cache, 'alice@example.com')).toBe(false);
    expect(store.get().messages).toEqual({});
    expect(await cache.load()).toBeUndefined();
  });
});
