// The in-memory mail store: the reducer that applies sync answers (SPEC §11)
// and a tiny external store React subscribes to.
import type { SyncResponse } from '../api/types';
import type { InlineContent } from '../model/message';
import type { MessageObject } from '../model/placeholder';

export interface MailState {
  /** The sync state this content corresponds to. */
  state?: string;
  messages: Readonly<Record<string, MessageObject>>;
  inline: Readonly<Record<string, InlineContent>>;
}

export const emptyMail = (): MailState => ({ messages: {}, inline: {} });

/** Applies one sync answer: changes replace, destroys remove, inline adds. */
export function applySync(s: MailState, r: SyncResponse): MailState {
  const gone = new Set(r.destroyed ?? []);
  const messages: Record<string, MessageObject> = {};
  for (const [id, m] of Object.entries(s.messages)) if (!gone.has(id)) messages[id] = m;
  for (const m of r.changed ?? []) if (!gone.has(m.id)) messages[m.id] = m;
  const inline = { ...s.inline, ...(r.inline ?? {}) };
  return { state: r.state, messages, inline };
}

/** A message the app itself got back from the API (draft saved, moved...). */
export function upsertLocal(s: MailState, m: MessageObject): MailState {
  return { ...s, messages: { ...s.messages, [m.id]: m } };
}

export function removeLocal(s: MailState, id: string): MailState {
  if (!(id in s.messages)) return s;
  const messages: Record<string, MessageObject> = {};
  for (const [k, m] of Object.entries(s.messages)) if (k !== id) messages[k] = m;
  return { ...s, messages };
}

export function addInline(s: MailState, digest: string, c: InlineContent): MailState {
  return { ...s, inline: { ...s.inline, [digest]: c } };
}

/** Drops inline content no message refers to any more. */
export function pruneInline(s: MailState, referenced: (m: MessageObject) => string[]): MailState {
  const keep = new Set<string>();
  for (const m of Object.values(s.messages)) for (const d of referenced(m)) keep.add(d);
  const inline: Record<string, InlineContent> = {};
  for (const [d, c] of Object.entries(s.inline)) if (keep.has(d)) inline[d] = c;
  return { ...s, inline };
}

type Listener = () => void;

export class MailStore {
  private snapshot: MailState;
  private readonly listeners = new Set<Listener>();
  /** False until the first full sync (or a cached copy) has been loaded. */
  loaded = false;

  constructor(initial: MailState = emptyMail()) {
    this.snapshot = initial;
  }

  get = (): MailState => this.snapshot;

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  update(fn: (s: MailState) => MailState): void {
    const next = fn(this.snapshot);
    if (next === this.snapshot) return;
    this.snapshot = next;
    for (const l of this.listeners) l();
  }

  replace(s: MailState, loaded = true): void {
    this.loaded = loaded || this.loaded;
    this.update(() => s);
  }
}
