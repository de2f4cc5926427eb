// Reading a conversation: each message rebuilt from its Placeholder. Plain
// text is shown as text; HTML is sanitised and shown in a sandboxed frame;
// attachments are fetched by digest on demand.
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import styled from 'styled-components';
import { describeError } from '../api/errors';
import { displayName, formatAddress, type Address } from '../model/address';
import type { Attachment, MessageSummary } from '../model/message';
import { FRAME_BODY_CSS, frameDocument, sanitizeMailHtml } from '../model/sanitize';
import type { MailActions } from './actions';
import { Banner, Button, Icon, IconButton, Spinner } from './common';
import { formatSize, fullDate, listDate } from './fmt';
import { StatusPanel } from './StatusPanel';

const Wrap = styled.section`
  flex: 1;
  overflow-y: auto;
  padding: 20px 24px 40px;
  @media (max-width: 760px) { padding: 12px 10px 32px; }
`;

const Title = styled.h2`
  margin: 4px 0 18px;
  font-size: 21px;
  font-weight: 600;
  line-height: 1.3;
  overflow-wrap: anywhere;
`;

const Card = styled.article<{ $open: boolean }>`
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  margin-bottom: 12px;
  overflow: hidden;
  ${(p) => (p.$open ? 'box-shadow: var(--shadow);' : '')}
`;

const Head = styled.header`
  display: flex;
  gap: 12px;
  align-items: flex-start;
  padding: 14px 16px;
  cursor: pointer;
  .meta { flex: 1; min-width: 0; }
  .from { font-weight: 600; }
  .addr { color: var(--text-3); font-weight: 400; margin-left: 6px; font-size: 13px; }
  .to, .snippet { color: var(--text-2); font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .date { color: var(--text-3); font-size: 12px; white-space: nowrap; }
  .actions { display: flex; gap: 2px; }
  @media (max-width: 760px) {
    padding: 12px;
    flex-wrap: wrap;
    .meta { flex-basis: calc(100% - 50px); }
    .date { order: 3; margin-left: 50px; }
    .actions { display: none; }
  }
`;

const Avatar = styled.div<{ $hue: number }>`
  flex: none;
  width: 38px;
  height: 38px;
  border-radius: 50%;
  display: grid;
  place-items: center;
  font-weight: 600;
  color: #fff;
  background: hsl(${(p) => p.$hue} 45% 48%);
`;

const Body = styled.div`
  padding: 0 16px 16px 66px;
  @media (max-width: 760px) { padding: 0 12px 14px; }
`;

const Text = styled.div`
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-size: 15px;
  line-height: 1.55;
  .quote { color: var(--text-2); }
`;

const Frame = styled.iframe`
  display: block;
  width: 100%;
  max-height: 4000px;
  border: 1px solid var(--border);
  border-radius: 8px;
  background: #fff;
`;

const Measure = styled.div`
  position: absolute;
  inset: 0 1px auto 1px;
  visibility: hidden;
  pointer-events: none;
  overflow: hidden;
  height: 0;
`;

const Atts = styled.ul`
  list-style: none;
  padding: 0;
  margin: 14px 0 0;
  display: flex;
  flex-wrap: wrap;
  gap: 10px;
`;

const Att = styled.li`
  display: flex;
  flex-direction: column;
  width: 200px;
  max-width: 100%;
  border: 1px solid var(--border);
  border-radius: 8px;
  overflow: hidden;
  background: var(--surface-2);
  .preview { height: 110px; display: grid; place-items: center; background: var(--surface-2); color: var(--text-3); }
  .preview img { width: 100%; height: 110px; object-fit: cover; }
  .info { display: flex; align-items: center; gap: 6px; padding: 6px 6px 6px 10px; background: var(--surface); }
  .name { flex: 1; min-width: 0; font-size: 13px; font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .size { font-size: 11px; color: var(--text-3); }
`;

const Tools = styled.div`
  display: flex;
  flex-wrap: wrap;
  gap: 8px;
  margin-top: 16px;
`;

function hue(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

function initials(a: Address | undefined): string {
  const n = displayName(a).replace(/[^\p{L}\p{N} ]/gu, '').trim();
  const parts = n.split(/\s+/);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? '') : '')).toUpperCase();
}

/** Plain text with quotations dimmed and links clickable. */
function PlainText({ text }: { text: string }) {
  const nodes: ReactNode[] = [];
  text.split('\n').forEach((line, i) => {
    const parts: ReactNode[] = [];
    let last = 0;
    for (const m of line.matchAll(/\bhttps?:\/\/[^\s<>"]+/g)) {
      parts.push(line.slice(last, m.index));
      parts.push(
        <a key={m.index} href={m[0]} target="_blank" rel="noopener noreferrer">
          {m[0]}
        </a>,
      );
      last = m.index + m[0].length;
    }
    parts.push(line.slice(last));
    nodes.push(
      <span key={i} className={line.startsWith('>') ? 'quote' : undefined}>
        {parts}
        {'\n'}
      </span>,
    );
  });
  return <Text>{nodes}</Text>;
}

/**
 * The sandboxed frame cannot be measured from outside (opaque origin), so the
 * same sanitised HTML is laid out once more in a hidden shadow root of this
 * page, with the frame's styles, and the frame gets that height.
 */
function useContentHeight(html: string): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [height, setHeight] = useState(160);
  useLayoutEffect(() => {
    const host = ref.current;
    if (!host) return;
    const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${FRAME_BODY_CSS}</style><div class="fz-body">${html}</div>`;
    const body = root.querySelector('.fz-body');
    if (!body) return;
    const measure = (): void => setHeight(Math.max(120, Math.ceil(body.scrollHeight) + 16));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(body);
    return () => ro.disconnect();
  }, [html]);
  return [ref, height];
}

function HtmlBody({ html }: { html: string }) {
  const [allowRemote, setAllowRemote] = useState(false);
  const clean = useMemo(() => sanitizeMailHtml(html, { allowRemote }), [html, allowRemote]);
  const [measureRef, height] = useContentHeight(clean.html);
  return (
    <>
      {clean.remoteBlocked > 0 && !allowRemote && (
        <Banner $tone="info" style={{ borderRadius: 8, marginBottom: 10 }}>
          <span style={{ flex: 1 }}>Remote content in this message was blocked to protect your privacy.</span>
          <Button $small onClick={() => setAllowRemote(true)}>
            Load remote content
          </Button>
        </Banner>
      )}
      <div style={{ position: 'relative' }}>
        <Measure ref={measureRef} aria-hidden="true" />
        <Frame
          title="Message content"
          sandbox=""
          referrerPolicy="no-referrer"
          style={{ height }}
          srcDoc={frameDocument(clean.html, allowRemote)}
        />
      </div>
    </>
  );
}

function AttachmentItem({ att, actions }: { att: Attachment; actions?: MailActions }) {
  const [preview, setPreview] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const canPreview = att.isImage && att.size <= 8 * 1024 * 1024 && !!actions;
  useEffect(() => {
    if (!canPreview || !actions) return;
    let url: string | undefined;
    let alive = true;
    actions
      .download(att.digest)
      .then((blob) => {
        if (!alive) return;
        url = URL.createObjectURL(new Blob([blob], { type: att.mediaType }));
        setPreview(url);
      })
      .catch(() => undefined);
    return () => {
      alive = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [att.digest, att.mediaType, canPreview, actions]);

  const download = async (): Promise<void> => {
    if (!actions) return;
    setBusy(true);
    setError(undefined);
    try {
      const blob = await actions.download(att.digest);
      const url = URL.createObjectURL(new Blob([blob], { type: att.mediaType || 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = att.filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Att>
      <div className="preview">
        {preview ? <img src={preview} alt={att.filename} /> : <Icon name={att.isImage ? 'image' : 'clip'} size={28} />}
      </div>
      <div className="info">
        <div style={{ flex: 1, minWidth: 0 }}>
          <div className="name" title={att.filename}>
            {att.filename}
          </div>
          <div className="size">
            {att.mediaType} · {formatSize(att.size)}
            {error && <span style={{ color: 'var(--danger)' }}> · {error}</span>}
          </div>
        </div>
        <IconButton
          onClick={() => void download()}
          disabled={busy || !actions}
          aria-label={`Download ${att.filename}`}
          title="Download"
        >
          {busy ? <Spinner /> : <Icon name="download" />}
        </IconButton>
      </div>
    </Att>
  );
}

function MessageBody({ m, inline, actions }: { m: MessageSummary; inline: Record<string, { text: string } | undefined>; actions?: MailActions }) {
  const v = m.view;
  const [mode, setMode] = useState<'html' | 'text'>('html');
  const [loadError, setLoadError] = useState<string>();
  const html = v.htmlPart ? inline[v.htmlPart.digest]?.text : undefined;
  const text = v.textPart ? inline[v.textPart.digest]?.text : undefined;
  const wantHtml = mode === 'html' && v.htmlPart !== undefined;
  const needed = wantHtml ? v.htmlPart : (v.textPart ?? v.htmlPart);
  const missing = needed !== undefined && inline[needed.digest] === undefined;

  useEffect(() => {
    if (!missing || !needed || !actions) return;
    actions.loadInline(needed.digest, needed.type).catch((e: unknown) => setLoadError(describeError(e)));
  }, [missing, needed, actions]);

  let content: ReactNode;
  if (wantHtml && html !== undefined) content = <HtmlBody html={html} />;
  else if (text !== undefined) content = <PlainText text={text} />;
  else if (!needed) content = <Text style={{ color: 'var(--text-3)' }}>(This message has no text.)</Text>;
  else if (loadError) content = <Banner $tone="danger">The text could not be loaded: {loadError}</Banner>;
  else if (!actions) content = <Text style={{ color: 'var(--text-3)' }}>(The text is not saved on this device.)</Text>;
  else content = <Spinner />;

  return (
    <>
      {v.htmlPart && v.textPart && (
        <div style={{ display: 'flex', justifyContent: 'flex-end', marginBottom: 6 }}>
          <Button $small $variant="ghost" onClick={() => setMode(mode === 'html' ? 'text' : 'html')}>
            {mode === 'html' ? 'Show plain text' : 'Show formatted'}
          </Button>
        </div>
      )}
      {content}
    </>
  );
}

export interface ReaderHandlers {
  onReply: (m: MessageSummary, all: boolean) => void;
  onForward: (m: MessageSummary) => void;
  onTrash: (m: MessageSummary) => void;
  onToggleFlag: (m: MessageSummary) => void;
  onMarkUnread: (m: MessageSummary) => void;
  onBack?: () => void;
}

function MessageCard({
  m,
  open,
  onToggle,
  inline,
  actions,
  self,
  h,
}: {
  m: MessageSummary;
  open: boolean;
  onToggle: () => void;
  inline: Record<string, { text: string } | undefined>;
  actions?: MailActions;
  self: string;
  h: ReaderHandlers;
}) {
  const v = m.view;
  const from = v.from[0];
  const [showStatus, setShowStatus] = useState(false);
  const isSentByMe = !v.isDraft && !!from && from.address.toLowerCase() === self.toLowerCase();
  const recipients = [...v.to, ...v.cc].map((a) => displayName(a)).join(', ');
  return (
    <Card $open={open} aria-label={`Message from ${displayName(from)}`}>
      <Head onClick={onToggle}>
        <Avatar $hue={hue(from?.address ?? '')} aria-hidden="true">
          {initials(from)}
        </Avatar>
        <div className="meta">
          <div>
            <span className="from">{displayName(from) || '(no sender)'}</span>
            {open && from?.name && <span className="addr">&lt;{from.address}&gt;</span>}
          </div>
          {open ? (
            <div className="to" title={[...v.to, ...v.cc, ...v.bcc].map(formatAddress).join(', ')}>
              to {recipients || '(nobody)'}
              {v.bcc.length > 0 && `, bcc ${v.bcc.map((a) => displayName(a)).join(', ')}`}
            </div>
          ) : (
            <div className="snippet">{m.snippet}</div>
          )}
          {open && v.forwards.length > 0 && (
            <div className="to">
              forwarded {v.forwards.map((f) => `from ${f.from ?? '?'} to ${f.to ?? '?'}`).join(', then ')}
            </div>
          )}
        </div>
        <span className="date" title={fullDate(v.date)}>
          {v.isDraft ? 'Draft' : open ? fullDate(v.sortDate) : listDate(v.sortDate)}
        </span>
        {open && (
          <div className="actions" onClick={(e) => e.stopPropagation()}>
            <IconButton
              aria-label={m.msg.flags.flagged ? 'Unflag' : 'Flag'}
              aria-pressed={m.msg.flags.flagged}
              title="Flag (s)"
              onClick={() => h.onToggleFlag(m)}
              disabled={!actions}
            >
              <Icon name="star" fill={m.msg.flags.flagged ? 'currentColor' : 'none'} />
            </IconButton>
            <IconButton aria-label="Reply" title="Reply (r)" onClick={() => h.onReply(m, false)} disabled={!actions}>
              <Icon name="reply" />
            </IconButton>
          </div>
        )}
      </Head>
      {open && (
        <Body>
          <MessageBody m={m} inline={inline} {...(actions ? { actions } : {})} />
          {v.attachments.length > 0 && (
            <Atts aria-label="Attachments">
              {v.attachments.map((a) => (
                <AttachmentItem key={a.digest + a.filename} att={a} {...(actions ? { actions } : {})} />
              ))}
            </Atts>
          )}
          <Tools>
            <Button $small onClick={() => h.onReply(m, false)} disabled={!actions}>
              <Icon name="reply" size={15} /> Reply
            </Button>
            <Button $small onClick={() => h.onReply(m, true)} disabled={!actions}>
              <Icon name="replyAll" size={15} /> Reply all
            </Button>
            <Button $small onClick={() => h.onForward(m)} disabled={!actions}>
              <Icon name="forward" size={15} /> Forward
            </Button>
            {isSentByMe && (
              <Button $small onClick={() => setShowStatus((s) => !s)} aria-expanded={showStatus} disabled={!actions}>
                <Icon name="status" size={15} /> Delivery status
              </Button>
            )}
            <Button $small $variant="ghost" onClick={() => h.onMarkUnread(m)} disabled={!actions}>
              Mark unread
            </Button>
            <Button $small $variant="ghost" onClick={() => h.onTrash(m)} disabled={!actions}>
              <Icon name="trash" size={15} /> {m.msg.folder === 'trash' ? 'Delete forever' : 'Move to Trash'}
            </Button>
          </Tools>
          {showStatus && actions && <StatusPanel id={m.id} actions={actions} />}
        </Body>
      )}
    </Card>
  );
}

export function Reader({
  messages,
  inline,
  actions,
  self,
  handlers,
}: {
  messages: MessageSummary[];
  inline: Record<string, { text: string } | undefined>;
  actions?: MailActions;
  self: string;
  handlers: ReaderHandlers;
}) {
  const lastId = messages[messages.length - 1]?.id;
  const firstUnread = messages.find((m) => !m.msg.flags.seen)?.id;
  const [openIds, setOpenIds] = useState<Set<string>>(() => new Set([lastId ?? '', firstUnread ?? '']));
  const key = messages.map((m) => m.id).join(',');
  const [prevKey, setPrevKey] = useState(key);
  if (prevKey !== key) {
    // A new conversation (or a new message in it): open the newest.
    setPrevKey(key);
    setOpenIds((s) => new Set([...s, lastId ?? '']));
  }
  if (messages.length === 0) return null;
  const subject = messages[messages.length - 1]?.view.subject ?? '';
  return (
    <Wrap aria-label="Conversation">
      {handlers.onBack && (
        <Button $small $variant="ghost" onClick={handlers.onBack} style={{ marginBottom: 6 }}>
          <Icon name="back" size={15} /> Back
        </Button>
      )}
      <Title>{subject || '(no subject)'}</Title>
      {messages.map((m) => (
        <MessageCard
          key={m.id}
          m={m}
          open={openIds.has(m.id)}
          onToggle={() =>
            setOpenIds((s) => {
              const n = new Set(s);
              if (n.has(m.id)) n.delete(m.id);
              else n.add(m.id);
              return n;
            })
          }
          inline={inline}
          {...(actions ? { actions } : {})}
          self={self}
          h={handlers}
        />
      ))}
    </Wrap>
  );
}
