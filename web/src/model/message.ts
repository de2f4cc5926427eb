// Rebuilding a readable message from its Placeholder document.
import { parseAddressList, type Address } from './address';
import {
  header,
  headerBlocks,
  leafInfo,
  newestHeader,
  originBlock,
  stripAngle,
  walkLeaves,
  type LeafInfo,
  type MessageObject,
  type PlaceholderDocument,
} from './placeholder';

/** Inline content the sync delivers, keyed by digest. */
export interface InlineContent {
  type: string;
  text: string;
}
export type InlineMap = Record<string, InlineContent | undefined>;

export interface Attachment extends LeafInfo {
  filename: string;
  /** An inline image that is not part of the text (shown as a preview). */
  isImage: boolean;
}

export interface ForwardHop {
  from?: string;
  to?: string;
}

export interface MessageView {
  subject: string;
  from: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** Sending date (Date of the origin block); undefined for a draft. */
  date?: Date;
  /** When it reached this mailbox (newest Received), else the sending date. */
  sortDate?: Date;
  isDraft: boolean;
  messageId?: string;
  threadId?: string;
  inReplyTo?: string;
  references: string[];
  textPart?: LeafInfo;
  htmlPart?: LeafInfo;
  attachments: Attachment[];
  forwards: ForwardHop[];
}

/** Parses an RFC 5322 date (or RFC 3339); undefined when unreadable. */
export function parseMailDate(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function receivedDate(doc: PlaceholderDocument): Date | undefined {
  const r = newestHeader(doc, 'Received');
  if (!r) return undefined;
  const semi = r.lastIndexOf(';');
  return semi < 0 ? undefined : parseMailDate(r.slice(semi + 1).trim());
}

function idList(v: string | undefined): string[] {
  if (!v) return [];
  return (v.match(/<[^<>]+>/g) ?? []).map(stripAngle);
}

export function viewOf(doc: PlaceholderDocument): MessageView {
  const origin = originBlock(doc);
  const date = parseMailDate(header(origin, 'Date'));
  const leaves = walkLeaves(doc.body?.parts ?? []);
  let textPart: LeafInfo | undefined;
  let htmlPart: LeafInfo | undefined;
  const attachments: Attachment[] = [];
  for (const { part } of leaves) {
    const info = leafInfo(part);
    if (!info) continue;
    if (info.disposition === 'inline' && info.mediaType === 'text/plain' && !textPart) {
      textPart = info;
    } else if (info.disposition === 'inline' && info.mediaType === 'text/html' && !htmlPart) {
      htmlPart = info;
    } else {
      attachments.push({
        ...info,
        filename: info.filename ?? defaultName(info),
        isImage: info.mediaType.startsWith('image/'),
      });
    }
  }
  const forwards: ForwardHop[] = [];
  for (const b of headerBlocks(doc)) {
    const to = header(b, 'Forwarded-To');
    const from = header(b, 'Forwarded-From');
    if (to !== undefined || from !== undefined) {
      forwards.push({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
    }
  }
  const messageId = header(origin, 'Message-ID');
  const threadId = header(origin, 'X-Thread-ID');
  const inReplyTo = header(origin, 'In-Reply-To');
  const sortDate = receivedDate(doc) ?? date;
  return {
    subject: header(origin, 'Subject') ?? '',
    from: parseAddressList(header(origin, 'From')),
    to: parseAddressList(header(origin, 'To')),
    cc: parseAddressList(header(origin, 'Cc')),
    bcc: parseAddressList(header(origin, 'Bcc')),
    ...(date ? { date } : {}),
    ...(sortDate ? { sortDate } : {}),
    isDraft: date === undefined,
    ...(messageId ? { messageId: stripAngle(messageId) } : {}),
    ...(threadId ? { threadId: stripAngle(threadId) } : {}),
    ...(inReplyTo ? { inReplyTo: stripAngle(inReplyTo) } : {}),
    references: idList(header(origin, 'References')),
    ...(textPart ? { textPart } : {}),
    ...(htmlPart ? { htmlPart } : {}),
    attachments,
    forwards: forwards.reverse(),
  };
}

function defaultName(info: LeafInfo): string {
  const sub = info.mediaType.split('/')[1] ?? 'bin';
  return `attachment.${sub.replace(/[^a-z0-9]+/g, '') || 'bin'}`;
}

/** The text of the message, from the inline map when it is there. */
export function bodyText(view: MessageView, inline: InlineMap): string | undefined {
  if (view.textPart) {
    const c = inline[view.textPart.digest];
    if (c) return c.text;
  }
  if (view.htmlPart) {
    const c = inline[view.htmlPart.digest];
    if (c) return htmlToText(c.text);
  }
  return undefined;
}

/** A rough plain-text rendering of HTML (for snippets and search). */
export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|h[1-6]|tr)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The first line of real text: skips empty lines and quotations. */
export function snippet(text: string | undefined, max = 140): string {
  if (!text) return '';
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t && !t.startsWith('>')) return t.length > max ? `${t.slice(0, max - 1)}…` : t;
  }
  return '';
}

/** Everything a list row or the reader needs, derived once per message. */
export interface MessageSummary {
  id: string;
  msg: MessageObject;
  view: MessageView;
  text?: string;
  snippet: string;
  hasAttachments: boolean;
  threadKey: string;
}

export function summarize(msg: MessageObject, inline: InlineMap): MessageSummary {
  const view = viewOf(msg.document);
  const text = bodyText(view, inline);
  return {
    id: msg.id,
    msg,
    view,
    ...(text !== undefined ? { text } : {}),
    snippet: snippet(text),
    hasAttachments: view.attachments.length > 0,
    threadKey: view.threadId ?? view.messageId ?? `id:${msg.id}`,
  };
}
