// Building the Placeholder document of a draft from the compose form, and
// pre-filling the form for reply, reply all and forward.
import {
  displayName,
  formatAddress,
  formatAddressList,
  sameAddress,
  type Address,
} from './address';
import { quoteText } from './format';
import type { MessageView } from './message';
import { buildLeaf, type HeaderBlock, type Part, type PlaceholderDocument } from './placeholder';

export const TEXT_TYPE = 'text/plain; charset=UTF-8';
export const HTML_TYPE = 'text/html; charset=UTF-8';

/** A resource already in the mailbox, named by its digest. */
export interface ResourceRef {
  digest: string;
  size: number;
  type: string;
}

export interface AttachmentRef extends ResourceRef {
  filename: string;
}

export interface DraftInput {
  from: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  subject: string;
  text?: ResourceRef;
  html?: ResourceRef;
  attachments: AttachmentRef[];
  /** Kept from the server-completed draft, so a PUT keeps the same ids. */
  messageId?: string;
  threadId?: string;
  inReplyTo?: string;
  references?: string[];
}

const angle = (id: string): string => `<${id}>`;

/** The draft's document (no Date: SPEC §3, a draft). */
export function buildDraft(input: DraftInput): PlaceholderDocument {
  const h: HeaderBlock = [{ From: formatAddress(input.from) }];
  if (input.to.length) h.push({ To: formatAddressList(input.to) });
  if (input.cc.length) h.push({ Cc: formatAddressList(input.cc) });
  if (input.bcc.length) h.push({ Bcc: formatAddressList(input.bcc) });
  h.push({ Subject: input.subject.replace(/[\r\n]+/g, ' ') });
  if (input.messageId) h.push({ 'Message-ID': angle(input.messageId) });
  if (input.threadId) h.push({ 'X-Thread-ID': angle(input.threadId) });
  if (input.inReplyTo) h.push({ 'In-Reply-To': angle(input.inReplyTo) });
  if (input.references?.length) h.push({ References: input.references.map(angle).join(' ') });
  h.push({ 'Content-Type': 'multipart/mixed' });

  const parts: Part[] = [];
  const alt: Part[] = [];
  if (input.text) alt.push(buildLeaf({ ...input.text, disposition: 'inline' }));
  if (input.html) alt.push(buildLeaf({ ...input.html, disposition: 'inline' }));
  if (alt.length > 0) {
    parts.push({ headers: [{ 'Content-Type': 'multipart/alternative' }], parts: alt });
  }
  for (const a of input.attachments) {
    parts.push(buildLeaf({ ...a, disposition: 'attachment' }));
  }
  return { envelope: [{ headers: h }], body: { parts } };
}

export type ComposeMode = 'new' | 'reply' | 'replyAll' | 'forward' | 'draft';

export interface ComposeSeed {
  to: Address[];
  cc: Address[];
  bcc: Address[];
  subject: string;
  text: string;
  attachments: AttachmentRef[];
  threadId?: string;
  inReplyTo?: string;
  references?: string[];
}

function prefixed(prefix: string, subject: string): string {
  const re = new RegExp(`^\\s*${prefix}:`, 'i');
  return re.test(subject) ? subject : `${prefix}: ${subject}`;
}

function dedupe(list: Address[], exclude: string[]): Address[] {
  const seen = new Set(exclude.map((e) => e.toLowerCase()));
  const out: Address[] = [];
  for (const a of list) {
    const k = a.address.toLowerCase();
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(a.name ? { name: a.name, address: a.address } : { address: a.address });
  }
  return out;
}

function attribution(view: MessageView): string {
  const when = view.date ? view.date.toUTCString() : '';
  const who = view.from[0] ? formatAddress(view.from[0]) : 'someone';
  return when ? `On ${when}, ${who} wrote:` : `${who} wrote:`;
}

/**
 * The form's starting values for a reply, reply all or forward of `view`,
 * whose text is `text`. `self` is the user's own address.
 */
export function seedFor(
  mode: 'reply' | 'replyAll' | 'forward',
  view: MessageView,
  text: string,
  self: string,
): ComposeSeed {
  if (mode === 'forward') {
    const lines = [
      '',
      '',
      '---------- Forwarded message ----------',
      `From: ${formatAddressList(view.from)}`,
      ...(view.date ? [`Date: ${view.date.toUTCString()}`] : []),
      `Subject: ${view.subject}`,
      `To: ${formatAddressList(view.to)}`,
      ...(view.cc.length ? [`Cc: ${formatAddressList(view.cc)}`] : []),
      '',
      text,
    ];
    return {
      to: [],
      cc: [],
      bcc: [],
      subject: prefixed('Fwd', view.subject),
      text: lines.join('\n'),
      // A forward refers to the copies the user already owns (SPEC §9).
      attachments: view.attachments.map((a) => ({
        digest: a.digest,
        size: a.size,
        type: a.type,
        filename: a.filename,
      })),
    };
  }
  const fromSelf = view.from.some((a) => sameAddress(a.address, self));
  // Replying to one's own sent message goes to its recipients.
  const primary = fromSelf ? view.to : view.from;
  const to = dedupe(primary, fromSelf ? [] : [self]);
  const cc =
    mode === 'replyAll'
      ? dedupe([...(fromSelf ? [] : view.to), ...view.cc], [self, ...to.map((a) => a.address)])
      : [];
  const references = [...view.references];
  if (view.messageId && !references.includes(view.messageId)) references.push(view.messageId);
  return {
    to,
    cc,
    bcc: [],
    subject: prefixed('Re', view.subject),
    text: `\n\n${attribution(view)}\n${quoteText(text)}`,
    attachments: [],
    ...(view.threadId ? { threadId: view.threadId } : {}),
    ...(view.messageId ? { inReplyTo: view.messageId } : {}),
    ...(references.length ? { references } : {}),
  };
}

export function senderLabel(view: MessageView): string {
  return displayName(view.from[0]) || '(no sender)';
}
