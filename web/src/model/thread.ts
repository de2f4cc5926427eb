// Threads: messages grouped by X-Thread-ID (falling back to the Message-ID,
// then to the mailbox id, so every message is in exactly one thread).
import type { MessageSummary } from './message';

export interface Thread {
  key: string;
  /** Oldest first. */
  messages: MessageSummary[];
  latest: MessageSummary;
  unread: number;
  hasAttachments: boolean;
  flagged: boolean;
}

function time(m: MessageSummary): number {
  return m.view.sortDate?.getTime() ?? Number.MAX_SAFE_INTEGER;
}

/** Oldest first; drafts (no date) last, in a stable order by id. */
export function byDate(a: MessageSummary, b: MessageSummary): number {
  return time(a) - time(b) || a.id.localeCompare(b.id);
}

/** Groups messages into threads, newest thread first. */
export function groupThreads(messages: MessageSummary[]): Thread[] {
  const groups = new Map<string, MessageSummary[]>();
  for (const m of messages) {
    const list = groups.get(m.threadKey);
    if (list) list.push(m);
    else groups.set(m.threadKey, [m]);
  }
  const threads: Thread[] = [];
  for (const [key, list] of groups) {
    list.sort(byDate);
    const latest = list[list.length - 1];
    if (!latest) continue;
    threads.push({
      key,
      messages: list,
      latest,
      unread: list.filter((m) => !m.msg.flags.seen).length,
      hasAttachments: list.some((m) => m.hasAttachments),
      flagged: list.some((m) => m.msg.flags.flagged),
    });
  }
  threads.sort((a, b) => byDate(b.latest, a.latest));
  return threads;
}
