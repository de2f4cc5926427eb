import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api/errors';
import type { SyncResponse } from '../src/api/types';
import { MailboxApi } from '../src/api/client';
import type { MessageObject } from '../src/model/placeholder';
import { backoffDelay, SyncEngine, type SyncApi } from '../src/sync/engine';
import { IdbMailCache } from '../src/sync/persist';
import { applySync, emptyMail, MailStore } from '../src/sync/store';

function m(id: string, folder: MessageObject['folder'] = 'inbox', seen = false): MessageObject {
  return { id, folder, flags: { seen, flagged: false }, document: { envelope: [{ headers: [{ Subject: id }] }], body: { parts: [] } } };
}

function page(state: string, changed: MessageObject[], more = false, destroyed: string[] = [], inline: SyncResponse['inline'] = {}): SyncResponse {
  return { state, changed, destroyed, inline, more };
}

/** A scripted sync API: each call takes the next answer (or error). */
function scripted(answers: (SyncResponse | Error)[]) {
  const calls: { since: string | undefined; wait: number }[] = [];
  let idle: (() => void) | undefined;
  const api: SyncApi = {
    sync(since, wait, signal) {
      calls.push({ since, wait });
      const next = answers.shift();
      if (next === undefined) {
        // Nothing scripted: hang like a long poll until stopped.
        return new Promise((_, reject) => {
          idle?.();
          signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        });
      }
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
  const drained = new Promise<void>((r) => (idle = r));
  return { api, calls, drained };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sync reducer', () => {
  it('applies changes, destroys and inline content', () => {
    let s = emptyMail();
    s = applySync(s, page('1', [m('a'), m('b')], false, [], { d1: { type: 'text/plain', text: 'hi' } }));
    expect(Object.keys(s.messages)).toEqual(['a', 'b']);
    s = applySync(s, page('2', [{ ...m('a'), folder: 'trash' }], false, ['b']));
    expect(s.state).toBe('2');
    expect(Object.keys(s.messages)).toEqual(['a']);
    expect(s.messages.a?.folder).toBe('trash');
    expect(s.inline.d1?.text).toBe('hi');
  });
});

describe('sync loop', () => {
  it('full-syncs across pages with `more`, then long-polls', async () => {
    const { api, calls, drained } = scripted([page('s1', [m('a')], true), page('s2', [m('b')], true), page('s3', [m('c')], false)]);
    const store = new MailStore();
    const seen: number[] = [];
    store.subscribe(() => seen.push(Object.keys(store.get().messages).length));
    const e = new SyncEngine({ api, store, account: 'alice@example.com', wait: 25, isOnline: () => true });
    e.start();
    await drained;
    e.stop();
    await e.done;
    expect(calls).toEqual([
      { since: undefined, wait: 0 },
      { since: 's1', wait: 0 },
      { since: 's2', wait: 0 },
      { since: 's3', wait: 25 },
    ]);
    // The full copy appears at once, when complete.
    expect(seen).toEqual([3]);
    expect(store.get().state).toBe('s3');
    expect(store.loaded).toBe(true);
  });

  it('applies deltas and reports new unread inbox mail', async () => {
    const { api, drained } = scripted([
      page('s1', [m('a', 'inbox', true)]),
      page('s2', [m('b'), m('c', 'sent'), { ...m('a', 'inbox', true) }]),
      page('s3', [], false, ['a']),
    ]);
    const store = new MailStore();
    const arrived: string[][] = [];
    const e = new SyncEngine({ api, store, account: 'x', isOnline: () => true, onNewMail: (l) => arrived.push(l.map((x) => x.id)) });
    e.start();
    await drained;
    e.stop();
    expect(arrived).toEqual([['b']]);
    expect(Object.keys(store.get().messages).sort()).toEqual(['b', 'c']);
  });

  it('starts over with a full sync on 410, keeping the old copy until the new one is complete', async () => {
    const store = new MailStore();
    store.replace(applySync(emptyMail(), page('old', [m('stale'), m('kept')])));
    const { api, calls, drained } = scripted([
      new ApiError(410, 'state_too_old'),
      page('n1', [m('kept')], true),
      page('n2', [m('new')], false),
    ]);
    const snapshots: string[][] = [];
    store.subscribe(() => snapshots.push(Object.keys(store.get().messages).sort()));
    const e = new SyncEngine({ api, store, account: 'x', isOnline: () => true });
    e.start();
    await drained;
    e.stop();
    expect(calls.map((c) => c.since)).toEqual(['old', undefined, 'n1', 'n2']);
    expect(store.get().state).toBe('n2');
    expect(Object.keys(store.get().messages).sort()).toEqual(['kept', 'new']);
    // Never an empty mailbox on screen in between.
    expect(snapshots.every((s) => s.includes('kept'))).toBe(true);
  });

  it('backs off exponentially on errors and resets after a success', async () => {
    vi.useFakeTimers();
    const net = new ApiError(0, 'network_error');
    const { api, calls } = scripted([net, net, new ApiError(503, 'unavailable'), page('s1', [m('a')]), net, page('s2', [])]);
    const statuses: [string, number | undefined][] = [];
    const e = new SyncEngine({
      api,
      store: new MailStore(),
      account: 'x',
      isOnline: () => true,
      random: () => 0.5, // no jitter
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      onStatus: (s, d) => statuses.push([s, d?.retryInMs]),
    });
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2); // after 1 s
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3); // after 2 more s
    await vi.advanceTimersByTimeAsync(3999);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(5); // after 4 s: success, then at once the next (fails)
    await vi.advanceTimersByTimeAsync(1000); // reset: 1 s again
    expect(calls).toHaveLength(7);
    expect(statuses.filter(([s]) => s === 'backoff').map(([, d]) => d)).toEqual([1000, 2000, 4000, 1000]);
    e.stop();
  });

  it('pauses when long polls come back at once with nothing new (the MBX had no waiter slot free)', async () => {
    vi.useFakeTimers();
    const same = () => page('s1', []);
    const { api, calls } = scripted([page('s1', [m('a')]), same(), same(), same(), page('s2', [m('b')]), page('s2', [])]);
    const e = new SyncEngine({
      api,
      store: new MailStore(),
      account: 'x',
      isOnline: () => true,
      random: () => 0.5,
      baseDelayMs: 1000,
      now: () => Date.now(),
    });
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    // The full sync, then a long poll answered at once and empty: pause 1 s.
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3); // then 2 s
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toHaveLength(4); // then 4 s
    await vi.advanceTimersByTimeAsync(4000);
    // That answer has news: the next poll goes at once, comes back empty,
    // and the pause starts again from 1 s.
    expect(calls).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(6);
    expect(e.status).toBe('idle'); // a pause, not an error
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(7);
    expect(calls.slice(1).every((c) => c.wait > 0)).toBe(true);
    e.stop();
  });

  it('does not pause after a long poll that really waited', async () => {
    vi.useFakeTimers();
    let t = 0;
    const { api, calls } = scripted([page('s1', []), page('s1', []), page('s1', [])]);
    const slow: SyncApi = {
      sync: (since, wait, signal) => {
        t += 30_000; // each answer "took" the whole wait
        return api.sync(since, wait, signal);
      },
    };
    const e = new SyncEngine({ api: slow, store: new MailStore(), account: 'x', isOnline: () => true, now: () => t });
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(4);
    e.stop();
  });

  it('caps the back-off and applies jitter', () => {
    expect(backoffDelay(1, 1000, 60_000, 0.5)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, 0.5)).toBe(8000);
    expect(backoffDelay(30, 1000, 60_000, 0.5)).toBe(60_000);
    expect(backoffDelay(1, 1000, 60_000, 0)).toBe(800);
    expect(backoffDelay(1, 1000, 60_000, 1)).toBe(1200);
  });

  it('stops and reports when the token cannot be renewed (401)', async () => {
    const { api, calls } = scripted([new ApiError(401, 'invalid_token')]);
    const onAuthLost = vi.fn();
    const e = new SyncEngine({ api, store: new MailStore(), account: 'x', isOnline: () => true, onAuthLost });
    e.start();
    await e.done;
    expect(onAuthLost).toHaveBeenCalledOnce();
    expect(calls).toHaveLength(1);
    expect(e.status).toBe('signedOut');
  });

  it('waits while offline and goes on when nudged', async () => {
    vi.useFakeTimers();
    let online = false;
    const { api, calls } = scripted([page('s1', [])]);
    const e = new SyncEngine({ api, store: new MailStore(), account: 'x', isOnline: () => online });
    e.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toHaveLength(0);
    expect(e.status).toBe('offline');
    online = true;
    e.nudge();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.length).toBeGreaterThan(0);
    e.stop();
  });

  it('uses the API client: query parameters and the 410 error type', async () => {
    const urls: string[] = [];
    const fetch = (url: string) => {
      urls.push(url);
      if (url.includes('since=old')) return Promise.resolve(new Response('{"error":"gone"}', { status: 410 }));
      return Promise.resolve(new Response(JSON.stringify(page('s1', [])), { status: 200 }));
    };
    const api = new MailboxApi({ baseUrl: 'https://mbx.example.com/', tokens: { accessToken: () => Promise.resolve('t'), renew: () => Promise.resolve(false) }, fetch });
    await expect(api.sync('old', 30)).rejects.toMatchObject({ status: 410, code: 'gone' });
    await api.sync(undefined, 30);
    await api.sync('s1', 99);
    expect(urls).toEqual([
      'https://mbx.example.com/api/v1/sync?since=old&wait=30',
      'https://mbx.example.com/api/v1/sync',
      'https://mbx.example.com/api/v1/sync?since=s1&wait=30',
    ]);
  });
});

describe('offline copy (IndexedDB)', () => {
  it('keeps what was synced, for the next start without network', async () => {
    const cache = new IdbMailCache(`test-${Math.random()}`);
    const { api, drained } = scripted([page('s1', [m('a')], false, [], { d: { type: 'text/plain', text: 'hello' } }), page('s2', [m('b')], false, ['a'])]);
    const e = new SyncEngine({ api, store: new MailStore(), account: 'alice@example.com', cache, isOnline: () => true });
    e.start();
    await drained;
    e.stop();
    await e.done;
    const back = await cache.load();
    expect(back?.account).toBe('alice@example.com');
    expect(back?.mail.state).toBe('s2');
    expect(Object.keys(back?.mail.messages ?? {})).toEqual(['b']);
    expect(back?.mail.inline.d?.text).toBe('hello');
    await cache.clear();
    expect(await cache.load()).toBeUndefined();
  });
});
