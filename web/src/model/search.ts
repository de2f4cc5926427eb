// Search within what is synced. Terms are ANDed; each is a word or a
// "quoted phrase" matched anywhere (subject, people, text, file names), or
// one of: from: to: subject: has:attachment is:unread is:flagged.
import { formatAddressList } from './address';
import type { MessageSummary } from './message';

export interface Term {
  field?: 'from' | 'to' | 'subject' | 'has' | 'is';
  value: string;
}

export function parseQuery(q: string): Term[] {
  const terms: Term[] = [];
  const re = /(?:(from|to|subject|has|is):)?(?:"([^"]*)"|(\S+))/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(q)) !== null) {
    const value = (m[2] ?? m[3] ?? '').toLowerCase();
    if (!value) continue;
    const field = m[1]?.toLowerCase() as Term['field'] | undefined;
    terms.push(field ? { field, value } : { value });
  }
  return terms;
}

function haystack(m: MessageSummary, field: Term['field']): string {
  const v = m.view;
  switch (field) {
    case 'from':
      return formatAddressList(v.from).toLowerCase();
    case 'to':
      return formatAddressList([...v.to, ...v.cc, ...v.bcc]).toLowerCase();
    case 'subject':
      return v.subject.toLowerCase();
    default:
      return [
        v.subject,
        formatAddressList([...v.from, ...v.to, ...v.cc, ...v.bcc]),
        m.text ?? '',
        v.attachments.map((a) => a.filename).join(' '),
      ]
        .join('\n')
        .toLowerCase();
  }
}

export function matches(m: MessageSummary, terms: Term[]): boolean {
  return terms.every((t) => {
    if (t.field === 'has') return t.value.startsWith('attach') ? m.hasAttachments : false;
    if (t.field === 'is') {
      if (t.value === 'unread') return !m.msg.flags.seen;
      if (t.value === 'read') return m.msg.flags.seen;
      if (t.value === 'flagged' || t.value === 'starred') return m.msg.flags.flagged;
      return false;
    }
    return haystack(m, t.field).includes(t.value);
  });
}

export function search(messages: MessageSummary[], query: string): MessageSummary[] {
  const terms = parseQuery(query);
  if (terms.length === 0) return messages;
  return messages.filter((m) => matches(m, terms));
}
