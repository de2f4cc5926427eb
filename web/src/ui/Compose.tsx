// Writing a message: recipients with validation, subject, a body with simple
// formatting (an HTML alternative is made from it), attachments uploaded at
// once with progress and cancel, the draft saved automatically, Send.
import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  useSyncExternalStore,
  type ClipboardEvent,
  type DragEvent,
  type KeyboardEvent,
} from 'react';
import styled from 'styled-components';
import { describeError } from '../api/errors';
import { formatAddress, parseAddressList, type ParsedAddress } from '../model/address';
import type { ComposeSeed } from '../model/compose';
import type { MessageObject } from '../model/placeholder';
import type { DraftForm, MailActions } from './actions';
import { Banner, Button, Icon, IconButton, ProgressBar, Spinner, type IconName } from './common';
import { formatSize } from './fmt';
import { UploadManager } from './uploads';

const Backdrop = styled.div`
  position: fixed;
  inset: 0;
  z-index: 20;
  background: rgba(15, 20, 30, 0.35);
  display: flex;
  align-items: center;
  justify-content: center;
  padding: 24px;
  @media (max-width: 760px) { padding: 0; }
`;

const Dialog = styled.div<{ $drag: boolean }>`
  position: relative;
  display: flex;
  flex-direction: column;
  width: min(760px, 100%);
  height: min(720px, 100%);
  background: var(--surface);
  border-radius: 14px;
  box-shadow: var(--shadow);
  overflow: hidden;
  outline: ${(p) => (p.$drag ? '2px dashed var(--accent)' : 'none')};
  outline-offset: -8px;
  @media (max-width: 760px) { border-radius: 0; height: 100%; }
`;

const Top = styled.header`
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 10px 12px 10px 18px;
  border-bottom: 1px solid var(--border);
  h2 { flex: 1; margin: 0; font-size: 15px; font-weight: 600; }
`;

const Field = styled.div<{ $invalid?: boolean }>`
  display: flex;
  align-items: flex-start;
  gap: 8px;
  padding: 6px 18px;
  border-bottom: 1px solid var(--border);
  label { width: 54px; flex: none; padding-top: 6px; color: var(--text-2); font-size: 13px; }
  .chips { flex: 1; display: flex; flex-wrap: wrap; gap: 4px; align-items: center; min-width: 0; }
  input {
    flex: 1;
    min-width: 140px;
    height: 30px;
    border: none;
    background: transparent;
    outline: none;
  }
  .toggles { display: flex; gap: 2px; padding-top: 2px; }
`;

const Chip = styled.span<{ $invalid: boolean }>`
  display: inline-flex;
  align-items: center;
  gap: 4px;
  max-width: 100%;
  height: 26px;
  padding: 0 4px 0 10px;
  border-radius: 13px;
  font-size: 13px;
  background: ${(p) => (p.$invalid ? 'var(--danger-soft)' : 'var(--surface-2)')};
  color: ${(p) => (p.$invalid ? 'var(--danger)' : 'var(--text)')};
  border: 1px solid ${(p) => (p.$invalid ? 'var(--danger)' : 'var(--border)')};
  span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  button {
    border: none; background: transparent; color: inherit; cursor: pointer;
    width: 20px; height: 20px; border-radius: 10px; display: grid; place-items: center; padding: 0;
  }
  button:hover { background: var(--hover); }
`;

const Toolbar = styled.div`
  display: flex;
  gap: 2px;
  padding: 4px 12px;
  border-bottom: 1px solid var(--border);
  .hint { margin-left: auto; align-self: center; color: var(--text-3); font-size: 12px; }
  @media (max-width: 480px) { .hint { display: none; } }
`;

const BodyArea = styled.textarea`
  flex: 1;
  min-height: 140px;
  width: 100%;
  resize: none;
  border: none;
  outline: none;
  padding: 14px 18px;
  background: transparent;
  font-size: 15px;
  line-height: 1.55;
`;

const Uploads = styled.ul`
  list-style: none;
  margin: 0;
  padding: 6px 18px;
  display: flex;
  flex-direction: column;
  gap: 6px;
  max-height: 30%;
  overflow-y: auto;
  border-top: 1px solid var(--border);
  li { display: grid; grid-template-columns: auto 1fr auto auto; align-items: center; gap: 4px 10px; font-size: 13px; }
  .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 500; }
  .meta { color: var(--text-3); font-size: 12px; white-space: nowrap; }
  .bar { grid-column: 2 / 4; }
  .err { grid-column: 2 / 4; color: var(--danger); font-size: 12px; }
`;

const Foot = styled.footer`
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 10px 14px;
  border-top: 1px solid var(--border);
  .saved { flex: 1; color: var(--text-3); font-size: 12px; }
`;

const DropHint = styled.div`
  position: absolute;
  inset: 0;
  display: grid;
  place-items: center;
  background: color-mix(in srgb, var(--surface) 85%, transparent);
  color: var(--accent);
  font-weight: 600;
  font-size: 16px;
  pointer-events: none;
`;

function RecipientField({
  label,
  value,
  onChange,
  autoFocus,
  extra,
}: {
  label: string;
  value: ParsedAddress[];
  onChange: (v: ParsedAddress[]) => void;
  autoFocus?: boolean;
  extra?: React.ReactNode;
}) {
  const id = useId();
  const [text, setText] = useState('');
  const commit = (raw: string): void => {
    const parsed = parseAddressList(raw);
    if (parsed.length) onChange([...value, ...parsed]);
    setText('');
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    if ((e.key === 'Enter' || e.key === ',' || e.key === ';' || e.key === 'Tab') && text.trim()) {
      if (e.key !== 'Tab') e.preventDefault();
      commit(text);
    } else if (e.key === 'Backspace' && !text && value.length) {
      onChange(value.slice(0, -1));
    }
  };
  const onPaste = (e: ClipboardEvent<HTMLInputElement>): void => {
    const t = e.clipboardData.getData('text');
    if (/[,;\n]/.test(t)) {
      e.preventDefault();
      commit(text + t);
    }
  };
  const invalid = value.some((a) => !a.valid);
  return (
    <Field $invalid={invalid}>
      <label htmlFor={id}>{label}</label>
      <div className="chips">
        {value.map((a, i) => (
          <Chip key={`${a.raw}-${i}`} $invalid={!a.valid} title={a.valid ? formatAddress(a) : 'Not a valid address'}>
            <span>{a.name ?? a.address}</span>
            <button type="button" aria-label={`Remove ${a.raw}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
              <Icon name="close" size={12} />
            </button>
          </Chip>
        ))}
        <input
          id={id}
          value={text}
          autoFocus={autoFocus}
          autoComplete="email"
          inputMode="email"
          aria-invalid={invalid}
          aria-describedby={invalid ? `${id}-err` : undefined}
          onChange={(e) => {
            const v = e.target.value;
            if (/[,;]$/.test(v)) commit(v.slice(0, -1));
            else setText(v);
          }}
          onKeyDown={onKey}
          onPaste={onPaste}
          onBlur={() => text.trim() && commit(text)}
        />
        {invalid && (
          <span id={`${id}-err`} className="visually-hidden">
            Some addresses are not valid.
          </span>
        )}
      </div>
      {extra}
    </Field>
  );
}

export interface ComposeInit {
  seed: ComposeSeed;
  /** The draft being edited, when there is one already. */
  draft?: MessageObject;
  title: string;
}

const asParsed = (list: ComposeSeed['to']): ParsedAddress[] =>
  list.map((a) => ({ ...a, raw: formatAddress(a), valid: true }));

type Wrap = { before: string; after: string; placeholder: string; line?: boolean };
const FORMATS: { icon: IconName; label: string; w: Wrap }[] = [
  { icon: 'bold', label: 'Bold', w: { before: '**', after: '**', placeholder: 'bold text' } },
  { icon: 'italic', label: 'Italic', w: { before: '_', after: '_', placeholder: 'italic text' } },
  { icon: 'list', label: 'Bulleted list', w: { before: '- ', after: '', placeholder: 'item', line: true } },
  { icon: 'quote', label: 'Quote', w: { before: '> ', after: '', placeholder: 'quotation', line: true } },
  { icon: 'link', label: 'Link', w: { before: '[', after: '](https://)', placeholder: 'link text' } },
];

export function Compose({
  init,
  actions,
  onClose,
  autosaveMs = 2500,
}: {
  init: ComposeInit;
  actions: MailActions;
  onClose: (result: { sent?: MessageObject; savedDraft?: boolean }) => void;
  autosaveMs?: number;
}) {
  const { seed } = init;
  const [to, setTo] = useState(() => asParsed(seed.to));
  const [cc, setCc] = useState(() => asParsed(seed.cc));
  const [bcc, setBcc] = useState(() => asParsed(seed.bcc));
  const [showCc, setShowCc] = useState(seed.cc.length > 0 || seed.bcc.length > 0);
  const [subject, setSubject] = useState(seed.subject);
  const [text, setText] = useState(seed.text);
  const [error, setError] = useState<string>();
  const [saveState, setSaveState] = useState<'idle' | 'saving' | 'saved' | 'error'>(init.draft ? 'saved' : 'idle');
  const [sending, setSending] = useState(false);
  const [drag, setDrag] = useState(false);
  const draftRef = useRef<MessageObject | undefined>(init.draft);
  const dirty = useRef(false);
  const saving = useRef<Promise<unknown>>(Promise.resolve());
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const closed = useRef(false);

  const [uploads] = useState(
    () =>
      new UploadManager(
        (file, type, o) => actions.api.uploadResource(file, type, o),
        seed.attachments,
      ),
  );
  const items = useSyncExternalStore(uploads.subscribe, uploads.get);
  useEffect(() => () => uploads.cancelAll(), [uploads]);

  const form = useCallback(
    (): DraftForm => ({
      to: to.filter((a) => a.valid),
      cc: cc.filter((a) => a.valid),
      bcc: bcc.filter((a) => a.valid),
      subject,
      text,
      attachments: uploads.refs(),
      ...(seed.threadId ? { threadId: seed.threadId } : {}),
      ...(seed.inReplyTo ? { inReplyTo: seed.inReplyTo } : {}),
      ...(seed.references ? { references: seed.references } : {}),
    }),
    [to, cc, bcc, subject, text, uploads, seed.threadId, seed.inReplyTo, seed.references],
  );

  const hasContent = (f: DraftForm): boolean =>
    f.to.length + f.cc.length + f.bcc.length > 0 || f.subject.trim() !== '' || f.text.trim() !== '' || f.attachments.length > 0;

  /** Saves now (after any save in flight), when something changed. */
  const save = useCallback((): Promise<unknown> => {
    const f = form();
    if (!dirty.current || !hasContent(f)) return saving.current;
    dirty.current = false;
    setSaveState('saving');
    saving.current = saving.current
      .then(() => actions.saveDraft(f, draftRef.current))
      .then((m) => {
        draftRef.current = m;
        if (!closed.current) setSaveState('saved');
      })
      .catch((e: unknown) => {
        dirty.current = true;
        if (!closed.current) {
          setSaveState('error');
          setError(`The draft could not be saved: ${describeError(e)}`);
        }
      });
    return saving.current;
  }, [actions, form]);

  // Autosave a little after the last change.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    dirty.current = true;
    const t = setTimeout(() => void save(), autosaveMs);
    return () => clearTimeout(t);
  }, [to, cc, bcc, subject, text, items, save, autosaveMs]);

  const addFiles = (files: FileList | File[]): void => {
    for (const f of Array.from(files)) void uploads.add(f, f.name || 'attachment');
  };

  const allRecipients = [...to, ...cc, ...bcc];
  const invalid = allRecipients.filter((a) => !a.valid);
  const busy = uploads.busy;
  const canSend = !sending && !busy && invalid.length === 0 && allRecipients.length > 0;

  const send = async (): Promise<void> => {
    if (!canSend) return;
    setSending(true);
    setError(undefined);
    try {
      await saving.current;
      const sent = await actions.send(form(), draftRef.current);
      closed.current = true;
      onClose({ sent });
    } catch (e) {
      setError(`Not sent: ${describeError(e)}`);
      setSending(false);
    }
  };

  const close = async (): Promise<void> => {
    dirty.current = true;
    await save();
    closed.current = true;
    onClose({ savedDraft: draftRef.current !== undefined });
  };

  const discard = async (): Promise<void> => {
    closed.current = true;
    uploads.cancelAll();
    await saving.current;
    if (draftRef.current) await actions.discardDraft(draftRef.current.id).catch(() => undefined);
    onClose({});
  };

  const applyFormat = (w: Wrap): void => {
    const ta = bodyRef.current;
    if (!ta) return;
    const { selectionStart: s, selectionEnd: e, value } = ta;
    const sel = value.slice(s, e) || w.placeholder;
    let insert: string;
    if (w.line) {
      const atLineStart = s === 0 || value[s - 1] === '\n';
      insert = (atLineStart ? '' : '\n') + sel.split('\n').map((l) => w.before + l).join('\n');
    } else {
      insert = w.before + sel + w.after;
    }
    const next = value.slice(0, s) + insert + value.slice(e);
    setText(next);
    requestAnimationFrame(() => {
      ta.focus();
      const start = s + insert.indexOf(sel);
      ta.setSelectionRange(start, start + sel.length);
    });
  };

  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDrag(false);
    if (e.dataTransfer.files.length) addFiles(e.dataTransfer.files);
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void send();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      void close();
    } else if ((e.ctrlKey || e.metaKey) && (e.key === 'b' || e.key === 'i') && e.target === bodyRef.current) {
      e.preventDefault();
      const f = FORMATS[e.key === 'b' ? 0 : 1];
      if (f) applyFormat(f.w);
    }
  };

  const savedLabel =
    saveState === 'saving' ? 'Saving…' : saveState === 'saved' ? 'Draft saved' : saveState === 'error' ? 'Not saved' : '';

  return (
    <Backdrop onMouseDown={(e) => e.target === e.currentTarget && void close()}>
      <Dialog
        role="dialog"
        aria-modal="true"
        aria-label={init.title}
        $drag={drag}
        onKeyDown={onKeyDown}
        onDragOver={(e) => {
          if (e.dataTransfer.types.includes('Files')) {
            e.preventDefault();
            setDrag(true);
          }
        }}
        onDragLeave={(e) => {
          if (e.currentTarget === e.target) setDrag(false);
        }}
        onDrop={onDrop}
      >
        <Top>
          <h2>{init.title}</h2>
          <IconButton aria-label="Close (the draft is kept)" title="Close" onClick={() => void close()}>
            <Icon name="close" />
          </IconButton>
        </Top>
        {error && <Banner $tone="danger">{error}</Banner>}
        <RecipientField
          label="To"
          value={to}
          onChange={setTo}
          autoFocus={seed.to.length === 0}
          extra={
            !showCc && (
              <div className="toggles">
                <Button $small $variant="ghost" type="button" onClick={() => setShowCc(true)}>
                  Cc Bcc
                </Button>
              </div>
            )
          }
        />
        {showCc && <RecipientField label="Cc" value={cc} onChange={setCc} />}
        {showCc && <RecipientField label="Bcc" value={bcc} onChange={setBcc} />}
        <Field>
          <label htmlFor="compose-subject">Subject</label>
          <input id="compose-subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
        </Field>
        <Toolbar role="toolbar" aria-label="Formatting">
          {FORMATS.map((f) => (
            <IconButton key={f.label} type="button" aria-label={f.label} title={f.label} onClick={() => applyFormat(f.w)}>
              <Icon name={f.icon} size={16} />
            </IconButton>
          ))}
          <span className="hint">**bold**, _italic_, - lists, &gt; quotes</span>
        </Toolbar>
        <BodyArea
          ref={bodyRef}
          aria-label="Message text"
          value={text}
          autoFocus={seed.to.length > 0}
          onChange={(e) => setText(e.target.value)}
          onFocus={(e) => {
            if (seed.to.length > 0 && e.target.selectionStart === e.target.value.length && seed.text.startsWith('\n')) {
              e.target.setSelectionRange(0, 0);
            }
          }}
        />
        {items.length > 0 && (
          <Uploads aria-label="Attachments">
            {items.map((it) => (
              <li key={it.key}>
                <Icon name="clip" size={15} />
                <span className="name" title={it.filename}>
                  {it.filename}
                </span>
                <span className="meta">
                  {it.state === 'uploading'
                    ? `${formatSize(it.loaded)} of ${formatSize(it.size)}`
                    : it.state === 'failed'
                      ? 'failed'
                      : formatSize(it.size)}
                </span>
                <IconButton
                  type="button"
                  aria-label={it.state === 'uploading' ? `Cancel upload of ${it.filename}` : `Remove ${it.filename}`}
                  title={it.state === 'uploading' ? 'Cancel upload' : 'Remove'}
                  onClick={() => uploads.cancel(it.key)}
                >
                  <Icon name="close" size={15} />
                </IconButton>
                {it.state === 'uploading' && (
                  <div className="bar">
                    <ProgressBar
                      $value={it.size ? it.loaded / it.size : 0}
                      role="progressbar"
                      aria-label={`Uploading ${it.filename}`}
                      aria-valuemin={0}
                      aria-valuemax={100}
                      aria-valuenow={Math.round(it.size ? (100 * it.loaded) / it.size : 0)}
                    />
                  </div>
                )}
                {it.error && <div className="err">{it.error}</div>}
              </li>
            ))}
          </Uploads>
        )}
        <Foot>
          <Button $variant="primary" onClick={() => void send()} disabled={!canSend} title="Send (Ctrl+Enter)">
            {sending ? <Spinner /> : <Icon name="sent" size={16} />} Send
          </Button>
          <input
            ref={fileRef}
            type="file"
            multiple
            hidden
            onChange={(e) => {
              if (e.target.files) addFiles(e.target.files);
              e.target.value = '';
            }}
          />
          <IconButton type="button" aria-label="Attach files" title="Attach files" onClick={() => fileRef.current?.click()}>
            <Icon name="clip" />
          </IconButton>
          <span className="saved" aria-live="polite">
            {busy ? 'Uploading…' : invalid.length ? `Not a valid address: ${invalid.map((a) => a.raw).join(', ')}` : savedLabel}
          </span>
          <IconButton type="button" aria-label="Discard draft" title="Discard" onClick={() => void discard()}>
            <Icon name="trash" />
          </IconButton>
        </Foot>
        {drag && <DropHint>Drop files to attach</DropHint>}
      </Dialog>
    </Backdrop>
  );
}
