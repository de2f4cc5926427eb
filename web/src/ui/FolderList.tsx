// The folders with their unread counts (drafts: how many).
import styled from 'styled-components';
import type { Folder } from '../model/placeholder';
import { Badge, Icon, type IconName } from './common';

export const FOLDER_LABELS: Record<Folder, string> = {
  inbox: 'Inbox',
  sent: 'Sent',
  drafts: 'Drafts',
  trash: 'Trash',
};

const ICONS: Record<Folder, IconName> = { inbox: 'inbox', sent: 'sent', drafts: 'drafts', trash: 'trash' };

const Nav = styled.nav`
  display: flex;
  flex-direction: column;
  gap: 2px;
`;

const Item = styled.button<{ $active: boolean }>`
  display: flex;
  align-items: center;
  gap: 12px;
  width: 100%;
  height: 38px;
  padding: 0 12px;
  border: none;
  border-radius: 8px;
  background: ${(p) => (p.$active ? 'var(--selected)' : 'transparent')};
  color: ${(p) => (p.$active ? 'var(--text)' : 'var(--text-2)')};
  font-weight: ${(p) => (p.$active ? 600 : 500)};
  text-align: left;
  cursor: pointer;
  &:hover { background: ${(p) => (p.$active ? 'var(--selected)' : 'var(--hover)')}; }
  span.label { flex: 1; }
`;

export interface FolderCounts {
  unread: Record<Folder, number>;
  total: Record<Folder, number>;
}

export function FolderList({
  folder,
  counts,
  onSelect,
}: {
  folder: Folder;
  counts: FolderCounts;
  onSelect: (f: Folder) => void;
}) {
  return (
    <Nav aria-label="Folders">
      {(Object.keys(FOLDER_LABELS) as Folder[]).map((f) => {
        const n = f === 'drafts' ? counts.total.drafts : f === 'trash' ? 0 : counts.unread[f];
        const label = FOLDER_LABELS[f];
        return (
          <Item
            key={f}
            $active={f === folder}
            aria-current={f === folder ? 'page' : undefined}
            onClick={() => onSelect(f)}
            aria-label={n > 0 ? `${label}, ${n} ${f === 'drafts' ? 'drafts' : 'unread'}` : label}
          >
            <Icon name={ICONS[f]} />
            <span className="label">{label}</span>
            {n > 0 && <Badge $tone={f === 'inbox' ? 'accent' : 'muted'}>{n}</Badge>}
          </Item>
        );
      })}
    </Nav>
  );
}
