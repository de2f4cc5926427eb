// The list of conversations: sender, subject, first line, date, marks.
import { useEffect, useRef } from 'react';
import styled from 'styled-components';
import { displayName } from '../model/address';
import type { Folder } from '../model/placeholder';
import type { Thread } from '../model/thread';
import { Icon } from './common';
import { FOLDER_LABELS } from './FolderList';
import { listDate } from './fmt';

const List = styled.ul`
  list-style: none;
  margin: 0;
  padding: 0;
  overflow-y: auto;
  flex: 1;
`;

const Row = styled.li<{ $selected: boolean; $unread: boolean }>`
  position: relative;
  display: grid;
  grid-template-columns: 1fr auto;
  gap: 2px 10px;
  padding: 11px 16px 11px 22px;
  border-bottom: 1px solid var(--border);
  cursor: pointer;
  background: ${(p) => (p.$selected ? 'var(--selected)' : 'transparent')};
  &:hover { background: ${(p) => (p.$selected ? 'var(--selected)' : 'var(--hover)')}; }
  &:focus-visible { outline-offset: -2px; }
  ${(p) =>
    p.$unread &&
    `&::before { content: ''; position: absolute; left: 8px; top: 18px; width: 7px; height: 7px;
      border-radius: 50%; background: var(--accent); }`}
  .who {
    font-weight: ${(p) => (p.$unread ? 650 : 500)};
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
    color: var(--text);
  }
  .count { color: var(--text-3); font-weight: 500; margin-left: 4px; }
  .date {
    font-size: 12px; color: ${(p) => (p.$unread ? 'var(--accent)' : 'var(--text-3)')};
    font-weight: ${(p) => (p.$unread ? 600 : 400)}; white-space: nowrap;
  }
  .subject {
    grid-column: 1 / 2;
    font-weight: ${(p) => (p.$unread ? 600 : 400)};
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  }
  .marks { display: flex; gap: 4px; align-items: center; color: var(--text-3); justify-self: end; }
  .marks .flag { color: #d9a400; }
  .snippet {
    grid-column: 1 / 3;
    color: var(--text-2);
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
    font-size: 13px;
  }
  .draft { color: var(--danger); font-weight: 500; }
  .folder { font-size: 11px; color: var(--text-3); border: 1px solid var(--border); border-radius: 4px; padding: 0 4px; margin-right: 6px; }
`;

function people(t: Thread, folder: Folder, self: string): string {
  const last = t.latest.view;
  if (folder === 'sent' || folder === 'drafts') {
    return last.to.length ? `To: ${last.to.map((a) => displayName(a)).join(', ')}` : '(no recipients)';
  }
  const names: string[] = [];
  for (const m of t.messages) {
    const f = m.view.from[0];
    if (!f) continue;
    const n = f.address.toLowerCase() === self.toLowerCase() ? 'me' : displayName(f).split(' ')[0] ?? f.address;
    if (!names.includes(n)) names.push(n);
  }
  return names.join(', ') || '(no sender)';
}

export function MessageList({
  threads,
  folder,
  selected,
  self,
  showFolder,
  onOpen,
}: {
  threads: Thread[];
  folder: Folder;
  selected: string | null;
  self: string;
  showFolder: boolean;
  onOpen: (key: string) => void;
}) {
  const ref = useRef<HTMLUListElement>(null);
  useEffect(() => {
    if (!selected || !ref.current) return;
    const el = ref.current.querySelector<HTMLElement>(`[data-key="${CSS.escape(selected)}"]`);
    el?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  return (
    <List ref={ref} aria-label={`${FOLDER_LABELS[folder]} conversations`}>
      {threads.map((t) => {
        const v = t.latest.view;
        const isDraft = t.messages.some((m) => m.view.isDraft);
        return (
          <Row
            key={t.key}
            data-key={t.key}
            $selected={t.key === selected}
            $unread={t.unread > 0}
            tabIndex={0}
            aria-selected={t.key === selected}
            onClick={() => onOpen(t.key)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onOpen(t.key);
              }
            }}
          >
            <span className="who">
              {isDraft && folder !== 'drafts' && <span className="draft">Draft · </span>}
              {people(t, folder, self)}
              {t.messages.length > 1 && <span className="count">{t.messages.length}</span>}
            </span>
            <span className="date">{listDate(v.sortDate)}</span>
            <span className="subject">
              {showFolder && <span className="folder">{FOLDER_LABELS[t.latest.msg.folder]}</span>}
              {v.subject || '(no subject)'}
            </span>
            <span className="marks">
              {t.flagged && <Icon name="star" size={14} className="flag" fill="currentColor" aria-label="flagged" />}
              {t.hasAttachments && (
                <span title="Has attachments">
                  <Icon name="clip" size={14} />
                  <span className="visually-hidden">Has attachments</span>
                </span>
              )}
            </span>
            <span className="snippet">{t.latest.snippet || '\u00a0'}</span>
          </Row>
        );
      })}
    </List>
  );
}
