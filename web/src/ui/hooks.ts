// React glue: the store as state, derived summaries, online status.
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { summarize, type MessageSummary } from '../model/message';
import type { MessageObject } from '../model/placeholder';
import type { MailState, MailStore } from '../sync/store';
import type { Observable } from './services';

export function useMail(store: MailStore): MailState {
  return useSyncExternalStore(store.subscribe, store.get);
}

export function useObservable<T>(o: Observable<T>): T {
  return useSyncExternalStore(o.subscribe, o.get);
}

interface CacheEntry {
  hadText: boolean;
  summary: MessageSummary;
}

/** Summaries by message object: a message object never changes in place. */
const summaryCache = new WeakMap<MessageObject, CacheEntry>();

/** One summary per message, recomputed only when it (or its text) changed. */
export function useSummaries(mail: MailState): MessageSummary[] {
  return useMemo(
    () =>
      Object.values(mail.messages).map((msg) => {
        const prev = summaryCache.get(msg);
        if (prev && (prev.hadText || !hasText(prev.summary, mail))) return prev.summary;
        const summary = summarize(msg, mail.inline);
        summaryCache.set(msg, { hadText: summary.text !== undefined, summary });
        return summary;
      }),
    [mail],
  );
}

function hasText(s: MessageSummary, mail: MailState): boolean {
  const d = s.view.textPart?.digest ?? s.view.htmlPart?.digest;
  return d !== undefined && mail.inline[d] !== undefined;
}

export function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const on = (): void => setOnline(true);
    const off = (): void => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  return online;
}

export function useMediaQuery(q: string): boolean {
  const [match, setMatch] = useState(() => window.matchMedia(q).matches);
  useEffect(() => {
    const mq = window.matchMedia(q);
    const on = (): void => setMatch(mq.matches);
    mq.addEventListener('change', on);
    on();
    return () => mq.removeEventListener('change', on);
  }, [q]);
  return match;
}
