// Keyboard shortcuts (in the manner of the well-known webmails).

export type ShortcutAction =
  | 'next'
  | 'prev'
  | 'open'
  | 'back'
  | 'compose'
  | 'reply'
  | 'replyAll'
  | 'forward'
  | 'search'
  | 'trash'
  | 'toggleRead'
  | 'toggleFlag'
  | 'help'
  | 'goInbox'
  | 'goSent'
  | 'goDrafts'
  | 'goTrash';

export const SHORTCUTS: { keys: string; action: ShortcutAction; label: string }[] = [
  { keys: 'j', action: 'next', label: 'Next conversation' },
  { keys: 'k', action: 'prev', label: 'Previous conversation' },
  { keys: 'o', action: 'open', label: 'Open conversation' },
  { keys: 'u', action: 'back', label: 'Back to the list' },
  { keys: 'c', action: 'compose', label: 'Compose' },
  { keys: 'r', action: 'reply', label: 'Reply' },
  { keys: 'a', action: 'replyAll', label: 'Reply all' },
  { keys: 'f', action: 'forward', label: 'Forward' },
  { keys: '/', action: 'search', label: 'Search' },
  { keys: 'e', action: 'trash', label: 'Archive (move to Trash)' },
  { keys: '#', action: 'trash', label: 'Delete' },
  { keys: 'Shift+U', action: 'toggleRead', label: 'Mark read / unread' },
  { keys: 's', action: 'toggleFlag', label: 'Flag / unflag' },
  { keys: 'g i', action: 'goInbox', label: 'Go to Inbox' },
  { keys: 'g s', action: 'goSent', label: 'Go to Sent' },
  { keys: 'g d', action: 'goDrafts', label: 'Go to Drafts' },
  { keys: 'g t', action: 'goTrash', label: 'Go to Trash' },
  { keys: '?', action: 'help', label: 'Show shortcuts' },
];

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
  target?: EventTarget | null;
}

function typing(target: EventTarget | null | undefined): boolean {
  if (!target || typeof (target as Partial<HTMLElement>).tagName !== 'string') return false;
  const el = target as HTMLElement;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/**
 * The action for a key press; `prefix` is the pending "g" of a two-key
 * sequence. Returns the action, or 'g' to wait for the second key.
 */
export function shortcutFor(e: KeyInput, prefix: string | null): ShortcutAction | 'g' | null {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return null;
  if (prefix === 'g') {
    const go: Record<string, ShortcutAction> = { i: 'goInbox', s: 'goSent', d: 'goDrafts', t: 'goTrash' };
    return go[e.key] ?? null;
  }
  switch (e.key) {
    case 'j': return 'next';
    case 'k': return 'prev';
    case 'o':
    case 'Enter': return 'open';
    case 'u': return 'back';
    case 'Escape': return 'back';
    case 'c': return 'compose';
    case 'r': return 'reply';
    case 'a': return 'replyAll';
    case 'f': return 'forward';
    case '/': return 'search';
    case 'e':
    case '#': return 'trash';
    case 'U': return 'toggleRead';
    case 's': return 'toggleFlag';
    case '?': return 'help';
    case 'g': return 'g';
    default: return null;
  }
}
