import { describe, expect, it } from 'vitest';
import { buildDraft } from '../src/model/compose';
import { summarize } from '../src/model/message';
import type { Folder } from '../src/model/placeholder';
import { parseQuery, search } from '../src/model/search';
import { groupThreads } from '../src/model/thread';

let n = 0;
function msg(o: { thread?: string; mid?: string; date?: string; subject?: string; from?: string; seen?: boolean; folder?: Folder; text?: string; attach?: boolean }) {
  const doc = buildDraft({
    from: { address: o.from ?? 'bob@example.net' },
    to: [{ address: 'alice@example.com' }],
    cc: [],
    bcc: [],
    subject: o.subject ?? 'S',
    text: { digest: `d${++n}`, size: 1, type: 'text/plain' },
    attachments: o.attach ? [{ digest: 'att', size: 1, type: 'application/pdf', filename: 'report.pdf' }] : [],
    ...(o.mid ? { messageId: o.mid } : {}),
    ...(o.thread ? { threadId: o.thread } : {}),
  });
  if (o.date) (doc.envelope[0] as { headers: Record<string, string>[] }).headers.unshift({ Date: o.date });
  return summarize(
    { id: `id${n}`, folder: o.folder ?? 'inbox', flags: { seen: o.seen ?? true, flagged: false }, document: doc },
    { [`d${n}`]: { type: 'text/plain', text: o.text ?? '' } },
  );
}

describe('threads', () => {
  it('groups by X-Thread-ID, newest thread first, oldest message first', () => {
    const a1 = msg({ thread: 'A', date: 'Mon, 1 Jan 2024 10:00:00 +0000' });
    const b1 = msg({ thread: 'B', date: 'Mon, 1 Jan 2024 11:00:00 +0000', seen: false });
    const a2 = msg({ thread: 'A', date: 'Mon, 1 Jan 2024 12:00:00 +0000', seen: false });
    const lone = msg({ mid: 'only@example.net', date: 'Sun, 31 Dec 2023 12:00:00 +0000', attach: true });
    const draft = msg({ thread: 'B' });
    const ts = groupThreads([b1, a2, lone, a1, draft]);
    expect(ts.map((t) => t.key)).toEqual(['B', 'A', 'only@example.net']);
    expect(ts[1]?.messages.map((m) => m.id)).toEqual([a1.id, a2.id]);
    expect(ts[1]?.unread).toBe(1);
    // A draft (no date) sorts as the newest of its thread.
    expect(ts[0]?.latest.id).toBe(draft.id);
    expect(ts[2]?.hasAttachments).toBe(true);
  });
  it('puts a message without ids in a thread of its own', () => {
    const m = msg({});
    expect(groupThreads([m])[0]?.key).toBe(`id:${m.id}`);
  });
});

describe('search', () => {
  const list = [
    msg({ subject: 'Vacation photo', from: 'bob@example.net', text: 'Venice at dusk', attach: true }),
    msg({ subject: 'Budget', from: 'carol@example.org', text: 'numbers', seen: false }),
  ];
  it('parses fields and phrases', () => {
    expect(parseQuery('from:bob "at dusk" is:unread')).toEqual([
      { field: 'from', value: 'bob' },
      { value: 'at dusk' },
      { field: 'is', value: 'unread' },
    ]);
  });
  it('matches subject, people, text and file names', () => {
    expect(search(list, 'venice').map((m) => m.view.subject)).toEqual(['Vacation photo']);
    expect(search(list, 'report.pdf')).toHaveLength(1);
    expect(search(list, 'from:carol')).toHaveLength(1);
    expect(search(list, 'has:attachment')).toHaveLength(1);
    expect(search(list, 'is:unread').map((m) => m.view.subject)).toEqual(['Budget']);
    expect(search(list, 'budget venice')).toHaveLength(0);
    expect(search(list, '  ')).toHaveLength(2);
  });
});
