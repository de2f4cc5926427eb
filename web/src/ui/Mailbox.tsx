// The mailbox window: folders, the conversation list, the reader, compose,
// settings; keyboard shortcuts; new mail in the title; offline banner.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import styled from 'styled-components';
import { describeError } from '../api/errors';
import { displayName } from '../model/address';
import { seedFor } from '../model/compose';
import { bodyText, summarize, viewOf, type MessageSummary } from '../model/message';
import { FOLDERS, type Folder, type MessageObject } from '../model/placeholder';
import { search } from '../model/search';
import { byDate, groupThreads } from '../model/thread';
import { Compose, type ComposeInit } from './Compose';
import { Badge, Banner, Button, Center, Icon, IconButton, Spinner } from './common';
import { FOLDER_LABELS, FolderList, type FolderCounts } from './FolderList';
import { useMail, useMediaQuery, useObservable, useOnline, useSummaries } from './hooks';
import { Logo } from './Logo';
import { MessageList } from './MessageList';
import { notifyNewMail, titleFor } from './notify';
import { Reader, type ReaderHandlers } from './Reader';
import type { Services } from './services';
import { Settings, ShortcutHelp } from './Settings';
import { shortcutFor } from './shortcuts';

const Shell = styled.div`
  display: grid;
  grid-template-rows: auto auto minmax(0, 1fr);
  grid-template-columns: minmax(0, 1fr);
  height: 100%;
  min-width: 0;
`;

const TopBar = styled.header`
  display: flex;
  align-items: center;
  gap: 10px;
  height: 56px;
  padding: 0 12px 0 16px;
  background: var(--surface);
  border-bottom: 1px solid var(--border);
  .brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 16px; width: 208px; }
  .spacer { flex: 1; }
  .who { color: var(--text-2); font-size: 13px; max-width: 220px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  @media (max-width: 760px) {
    padding: 0 6px;
    gap: 4px;
    .brand { width: auto; }
    .brand span, .who, .wide-only, .spacer { display: none; }
  }
`;

const SearchBox = styled.label`
  flex: 1;
  min-width: 0;
  max-width: 640px;
  display: flex;
  align-items: center;
  gap: 8px;
  height: 40px;
  padding: 0 12px;
  border-radius: 10px;
  background: var(--surface-2);
  color: var(--text-3);
  &:focus-within { background: var(--surface); box-shadow: 0 0 0 2px var(--focus); }
  input { flex: 1; min-width: 0; border: none; background: transparent; outline: none; color: var(--text); }
`;

const Body = styled.div`
  display: grid;
  grid-template-columns: 232px minmax(300px, 400px) 1fr;
  min-height: 0;
  @media (max-width: 1100px) { grid-template-columns: 200px minmax(280px, 340px) 1fr; }
  @media (max-width: 760px) { grid-template-columns: minmax(0, 1fr); }
`;

const Side = styled.aside<{ $open: boolean }>`
  display: flex;
  flex-direction: column;
  gap: 14px;
  padding: 14px 10px;
  background: var(--bg);
  border-right: 1px solid var(--border);
  overflow-y: auto;
  .compose { height: 44px; border-radius: 12px; justify-content: flex-start; padding: 0 18px; }
  .sync { margin-top: auto; font-size: 12px; color: var(--text-3); padding: 0 8px; display: flex; gap: 6px; align-items: center; }
  @media (max-width: 760px) {
    position: fixed;
    z-index: 15;
    top: 56px;
    bottom: 0;
    left: 0;
    width: min(280px, 85vw);
    box-shadow: var(--shadow);
    background: var(--surface);
    transform: translateX(${(p) => (p.$open ? '0' : '-105%')});
    transition: transform 0.18s ease-out;
    visibility: ${(p) => (p.$open ? 'visible' : 'hidden')};
  }
`;

const ListPane = styled.section<{ $hidden: boolean }>`
  display: flex;
  flex-direction: column;
  min-width: 0;
  min-height: 0;
  background: var(--surface);
  border-right: 1px solid var(--border);
  .head { display: flex; align-items: center; gap: 8px; padding: 12px 16px; border-bottom: 1px solid var(--border); }
  .head h1 { margin: 0; font-size: 16px; font-weight: 650; flex: 1; }
  @media (max-width: 760px) { display: ${(p) => (p.$hidden ? 'none' : 'flex')}; border-right: none; }
`;

const ReadPane = styled.div<{ $hidden: boolean }>`
  display: flex;
  flex-direction: column;
  min-width: 0;
  min-height: 0;
  background: var(--bg);
  @media (max-width: 760px) { display: ${(p) => (p.$hidden ? 'none' : 'flex')}; }
`;

const Dot = styled.span<{ $tone: string }>`
  width: 8px;
  height: 8px;
  border-radius: 50%;
  background: ${(p) => p.$tone};
`;

const Toasts = styled.div`
  position: fixed;
  z-index: 40;
  left: 50%;
  bottom: 20px;
  transform: translateX(-50%);
  display: flex;
  flex-direction: column;
  gap: 8px;
  width: max-content;
  max-width: calc(100vw - 24px);
  div {
    display: flex; align-items: center; gap: 12px;
    padding: 10px 10px 10px 16px; border-radius: 10px;
    background: #1f2329; color: #f3f4f6; box-shadow: var(--shadow); font-size: 13px;
  }
  button { color: #9fbaff; background: transparent; border: none; cursor: pointer; font-weight: 600; }
`;

interface Toast {
  id: number;
  text: string;
  action?: { label: string; run: () => void };
}

const EMPTY_TEXT: Record<Folder, string> = {
  inbox: 'Your inbox is empty.',
  sent: 'Nothing sent yet.',
  drafts: 'No drafts.',
  trash: 'The trash is empty.',
};

export function Mailbox({
  services,
  onSignedOut,
  onSignIn,
}: {
  services: Services;
  onSignedOut: () => void;
  onSignIn: () => void;
}) {
  const { store, actions, account } = services;
  const self = account.address;
  const mail = useMail(store);
  const summaries = useSummaries(mail);
  const sync = useObservable(services.sync);
  const online = useOnline();
  const narrow = useMediaQuery('(max-width: 760px)');

  const [folder, setFolder] = useState<Folder>('inbox');
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [readerOpen, setReaderOpen] = useState(false);
  const [drawer, setDrawer] = useState(false);
  const [compose, setCompose] = useState<ComposeInit | null>(null);
  const [dialog, setDialog] = useState<'settings' | 'help' | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const searchRef = useRef<HTMLInputElement>(null);
  const gPrefix = useRef<string | null>(null);

  const toast = useCallback((text: string, action?: Toast['action']) => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-2), { id, text, ...(action ? { action } : {}) }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);

  const fail = useCallback((e: unknown) => toast(describeError(e)), [toast]);

  // ------------------------------------------------------------ derived

  const counts = useMemo<FolderCounts>(() => {
    const unread = { inbox: 0, sent: 0, drafts: 0, trash: 0 };
    const total = { inbox: 0, sent: 0, drafts: 0, trash: 0 };
    for (const s of summaries) {
      const f = s.msg.folder;
      if (!FOLDERS.includes(f)) continue;
      total[f]++;
      if (!s.msg.flags.seen) unread[f]++;
    }
    return { unread, total };
  }, [summaries]);

  const searching = query.trim() !== '';
  const threads = useMemo(() => {
    const pool = searching
      ? summaries.filter((s) => (folder === 'trash' ? s.msg.folder === 'trash' : s.msg.folder !== 'trash'))
      : summaries.filter((s) => s.msg.folder === folder);
    return groupThreads(searching ? search(pool, query) : pool);
  }, [summaries, folder, query, searching]);

  const threadMessages = useMemo(() => {
    if (!selected) return [];
    return summaries
      .filter((s) => s.threadKey === selected)
      .filter((s) => (folder === 'trash' ? s.msg.folder === 'trash' : s.msg.folder !== 'trash'))
      .sort(byDate);
  }, [summaries, selected, folder]);

  // ------------------------------------------------------- side effects

  useEffect(() => {
    document.title = titleFor(counts.unread.inbox, FOLDER_LABELS[folder]);
  }, [counts.unread.inbox, folder]);

  useEffect(() => {
    const onNew = (list: MessageObject[]): void => {
      const v = list[0] ? viewOf(list[0].document) : undefined;
      notifyNewMail(list.length, { from: displayName(v?.from[0]), subject: v?.subject ?? '' });
    };
    services.newMail.add(onNew);
    return () => {
      services.newMail.delete(onNew);
    };
  }, [services.newMail]);

  // Mark a conversation read when it is opened.
  useEffect(() => {
    if (!actions || !readerOpen) return;
    for (const m of threadMessages) {
      if (!m.msg.flags.seen) actions.setSeen(m.id, true).catch(fail);
    }
  }, [threadMessages, readerOpen, actions, fail]);

  // ------------------------------------------------------------- actions

  const textOf = async (m: MessageSummary): Promise<string> => {
    const part = m.view.textPart ?? m.view.htmlPart;
    if (part && actions && !store.get().inline[part.digest]) {
      await actions.loadInline(part.digest, part.type).catch(() => undefined);
    }
    return bodyText(m.view, store.get().inline) ?? '';
  };

  const openDraft = async (m: MessageSummary): Promise<void> => {
    const text = await textOf(m);
    const v = m.view;
    setCompose({
      title: 'Edit draft',
      draft: m.msg,
      seed: {
        to: v.to,
        cc: v.cc,
        bcc: v.bcc,
        subject: v.subject,
        text,
        attachments: v.attachments.map((a) => ({ digest: a.digest, size: a.size, type: a.type, filename: a.filename })),
        ...(v.threadId ? { threadId: v.threadId } : {}),
        ...(v.inReplyTo ? { inReplyTo: v.inReplyTo } : {}),
        ...(v.references.length ? { references: v.references } : {}),
      },
    });
  };

  const openThread = (key: string): void => {
    const t = threads.find((x) => x.key === key);
    const draft = t?.messages.find((m) => m.view.isDraft && m.msg.folder === 'drafts');
    if (draft && folder === 'drafts' && actions) {
      void openDraft(draft);
      return;
    }
    setSelected(key);
    setReaderOpen(true);
  };

  const startCompose = (): void => {
    if (!actions) return;
    setCompose({ title: 'New message', seed: { to: [], cc: [], bcc: [], subject: '', text: '', attachments: [] } });
  };

  const reply = async (m: MessageSummary, all: boolean): Promise<void> => {
    if (!actions) return;
    const text = await textOf(m);
    setCompose({ title: all ? 'Reply all' : 'Reply', seed: seedFor(all ? 'replyAll' : 'reply', m.view, text, self) });
  };

  const forward = async (m: MessageSummary): Promise<void> => {
    if (!actions) return;
    const text = await textOf(m);
    setCompose({ title: 'Forward', seed: seedFor('forward', m.view, text, self) });
  };

  const trash = (m: MessageSummary): void => {
    if (!actions) return;
    const wasTrash = m.msg.folder === 'trash';
    const from = m.msg.folder;
    actions
      .remove(m.id)
      .then(() =>
        toast(
          wasTrash ? 'Deleted forever.' : 'Moved to Trash.',
          wasTrash ? undefined : { label: 'Undo', run: () => void actions.move(m.id, from).catch(fail) },
        ),
      )
      .catch(fail);
  };

  const trashThread = (): void => {
    for (const m of threadMessages) trash(m);
    moveSelection(1);
  };

  const moveSelection = (delta: number): void => {
    if (threads.length === 0) return;
    const i = threads.findIndex((t) => t.key === selected);
    const next = threads[Math.max(0, Math.min(threads.length - 1, i < 0 ? 0 : i + delta))];
    if (next) {
      setSelected(next.key);
      if (readerOpen && !narrow) setReaderOpen(true);
    }
  };

  const current = threadMessages[threadMessages.length - 1];
  const handlers: ReaderHandlers = {
    onReply: (m, all) => void reply(m, all),
    onForward: (m) => void forward(m),
    onTrash: trash,
    onToggleFlag: (m) => void actions?.toggleFlag(m.id).catch(fail),
    onMarkUnread: (m) => {
      actions?.setSeen(m.id, false).catch(fail);
      setReaderOpen(false);
      if (!narrow) setSelected(null);
    },
    ...(narrow ? { onBack: () => setReaderOpen(false) } : {}),
  };

  const selectFolder = (f: Folder): void => {
    setFolder(f);
    setSelected(null);
    setReaderOpen(false);
    setDrawer(false);
    setQuery('');
  };

  const logout = async (): Promise<void> => {
    await services.logout();
    onSignedOut();
  };

  // ----------------------------------------------------------- keyboard

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (compose || dialog) return;
      const a = shortcutFor(e, gPrefix.current);
      gPrefix.current = a === 'g' ? 'g' : null;
      if (!a || a === 'g') return;
      e.preventDefault();
      switch (a) {
        case 'next': moveSelection(1); break;
        case 'prev': moveSelection(-1); break;
        case 'open': if (selected) openThread(selected); else moveSelection(0); break;
        case 'back': setReaderOpen(false); break;
        case 'compose': startCompose(); break;
        case 'reply': if (current && readerOpen) void reply(current, false); break;
        case 'replyAll': if (current && readerOpen) void reply(current, true); break;
        case 'forward': if (current && readerOpen) void forward(current); break;
        case 'search': searchRef.current?.focus(); break;
        case 'trash': if (current) trashThread(); break;
        case 'toggleRead': if (current) actions?.setSeen(current.id, !current.msg.flags.seen).catch(fail); break;
        case 'toggleFlag': if (current) actions?.toggleFlag(current.id).catch(fail); break;
        case 'help': setDialog('help'); break;
        case 'goInbox': selectFolder('inbox'); break;
        case 'goSent': selectFolder('sent'); break;
        case 'goDrafts': selectFolder('drafts'); break;
        case 'goTrash': selectFolder('trash'); break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  // ------------------------------------------------------------- render

  const offline = !online || sync.status === 'offline';
  const syncTone =
    sync.status === 'backoff' ? 'var(--warn)' : offline || !actions ? 'var(--text-3)' : 'var(--ok)';
  const syncText = !actions
    ? 'Offline copy'
    : offline
      ? 'Offline'
      : sync.status === 'backoff'
        ? 'Reconnecting…'
        : sync.status === 'syncing'
          ? 'Syncing…'
          : 'Up to date';
  const loading = !store.loaded && summaries.length === 0 && !!actions;
  const showReader = readerOpen && threadMessages.length > 0;

  return (
    <Shell>
      <TopBar>
        {narrow && (
          <IconButton aria-label="Folders" aria-expanded={drawer} onClick={() => setDrawer((d) => !d)}>
            <Icon name="menu" />
          </IconButton>
        )}
        <div className="brand">
          <Logo size={28} />
          <span>Federizer</span>
        </div>
        <SearchBox>
          <Icon name="search" />
          <span className="visually-hidden">Search mail</span>
          <input
            ref={searchRef}
            type="search"
            placeholder="Search mail"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setSelected(null);
              setReaderOpen(false);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                setQuery('');
                e.currentTarget.blur();
              }
            }}
          />
        </SearchBox>
        <span className="spacer" />
        <span className="who" title={self}>
          {self}
        </span>
        <IconButton
          className="wide-only"
          aria-label="Keyboard shortcuts"
          title="Keyboard shortcuts (?)"
          onClick={() => setDialog('help')}
        >
          <Icon name="keyboard" />
        </IconButton>
        <IconButton aria-label="Settings" title="Settings" onClick={() => setDialog('settings')}>
          <Icon name="settings" />
        </IconButton>
        <IconButton aria-label="Sign out" title="Sign out" onClick={() => void logout()}>
          <Icon name="logout" />
        </IconButton>
      </TopBar>
      <div>
        {offline && (
          <Banner role="status">
            <span style={{ flex: 1 }}>
              You are offline. {actions ? 'Changes will sync when the connection is back.' : 'Showing the mail saved on this device.'}
            </span>
          </Banner>
        )}
        {!offline && !actions && (
          <Banner role="status" $tone="info">
            <span style={{ flex: 1 }}>Showing the mail saved on this device.</span>
            <Button $small onClick={onSignIn}>
              Sign in
            </Button>
          </Banner>
        )}
        {!offline && sync.status === 'backoff' && (
          <Banner role="status">
            <span style={{ flex: 1 }}>The mailbox cannot be reached right now; retrying.</span>
          </Banner>
        )}
        {/* Compiled out of production builds, like the demo itself. */}
        {(import.meta.env.DEV || import.meta.env.MODE === 'demo') && services.demo && (
          <Banner $tone="info">
            <span>Demo mode: a sample mailbox kept in this page, no server involved.</span>
          </Banner>
        )}
      </div>
      <Body>
        <Side $open={drawer} aria-hidden={narrow && !drawer ? true : undefined}>
          <Button className="compose" $variant="primary" onClick={startCompose} disabled={!actions} title="Compose (c)">
            <Icon name="compose" /> Compose
          </Button>
          <FolderList folder={folder} counts={counts} onSelect={selectFolder} />
          <div className="sync" aria-live="polite">
            <Dot $tone={syncTone} /> {syncText}
          </div>
        </Side>
        <ListPane $hidden={narrow && showReader} aria-label="Conversation list">
          <div className="head">
            <h1>{searching ? 'Search results' : FOLDER_LABELS[folder]}</h1>
            {!searching && counts.unread[folder] > 0 && folder !== 'drafts' && (
              <Badge $tone="muted">{counts.unread[folder]} unread</Badge>
            )}
          </div>
          {loading ? (
            <Center>
              <Spinner />
              <span>Loading your mail…</span>
            </Center>
          ) : threads.length === 0 ? (
            <Center>{searching ? 'No messages match your search.' : EMPTY_TEXT[folder]}</Center>
          ) : (
            <MessageList
              threads={threads}
              folder={folder}
              selected={selected}
              self={self}
              showFolder={searching}
              onOpen={openThread}
            />
          )}
        </ListPane>
        <ReadPane $hidden={!showReader}>
          {showReader ? (
            <Reader
              key={selected ?? ''}
              messages={threadMessages}
              inline={mail.inline}
              {...(actions ? { actions } : {})}
              self={self}
              handlers={handlers}
            />
          ) : (
            !narrow && (
              <Center>
                <Logo size={40} />
                <span>Select a conversation to read it.</span>
                <span style={{ fontSize: 12, color: 'var(--text-3)' }}>Press ? for keyboard shortcuts.</span>
              </Center>
            )
          )}
        </ReadPane>
      </Body>
      {compose && actions && (
        <Compose
          init={compose}
          actions={actions}
          onClose={(r) => {
            setCompose(null);
            if (r.sent) {
              const sent = r.sent;
              toast('Message sent.', {
                label: 'View',
                run: () => {
                  setFolder('sent');
                  setQuery('');
                  const m = store.get().messages[sent.id];
                  const key = m ? summarize(m, store.get().inline).threadKey : null;
                  setSelected(key);
                  setReaderOpen(key !== null);
                },
              });
            } else if (r.savedDraft) toast('Draft saved.');
          }}
        />
      )}
      {dialog === 'settings' && <Settings {...(actions ? { actions } : {})} onClose={() => setDialog(null)} />}
      {dialog === 'help' && <ShortcutHelp onClose={() => setDialog(null)} />}
      <Toasts aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id}>
            <span>{t.text}</span>
            {t.action && (
              <button
                onClick={() => {
                  t.action?.run();
                  setToasts((all) => all.filter((x) => x.id !== t.id));
                }}
              >
                {t.action.label}
              </button>
            )}
          </div>
        ))}
      </Toasts>
    </Shell>
  );
}
