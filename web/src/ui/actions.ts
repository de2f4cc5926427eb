// What the person does to mail, as calls on the mailbox API with the local
// store updated at once (optimistically) and corrected by the answer.
import type { MailboxApi } from '../api/client';
import type { DeliveryStatus, ForwardingRule } from '../api/types';
import type { Address } from '../model/address';
import { buildDraft, HTML_TYPE, TEXT_TYPE, type AttachmentRef, type ResourceRef } from '../model/compose';
import { textToHtml } from '../model/format';
import { viewOf } from '../model/message';
import { isMessageObject, type Flags, type Folder, type MessageObject } from '../model/placeholder';
import { addInline, removeLocal, upsertLocal, type MailStore } from '../sync/store';

export interface DraftForm {
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

export class MailActions {
  private readonly textRefs = new Map<string, ResourceRef>();

  constructor(
    readonly api: MailboxApi,
    readonly store: MailStore,
    readonly self: Address,
  ) {}

  private current(id: string): MessageObject | undefined {
    return this.store.get().messages[id];
  }

  private async patch(id: string, local: Partial<MessageObject>, body: { folder?: Folder; flags?: Partial<Flags> }) {
    const before = this.current(id);
    if (!before) return;
    this.store.update((s) => upsertLocal(s, { ...before, ...local, flags: { ...before.flags, ...local.flags } }));
    try {
      const m = await this.api.patchMessage(id, body);
      if (m && typeof m === 'object' && 'id' in m) this.store.update((s) => upsertLocal(s, m));
    } catch (e) {
      this.store.update((s) => upsertLocal(s, before));
      throw e;
    }
  }

  setSeen(id: string, seen: boolean): Promise<void> {
    const m = this.current(id);
    if (!m || m.flags.seen === seen) return Promise.resolve();
    return this.patch(id, { flags: { ...m.flags, seen } }, { flags: { seen } });
  }

  toggleFlag(id: string): Promise<void> {
    const m = this.current(id);
    if (!m) return Promise.resolve();
    const flagged = !m.flags.flagged;
    return this.patch(id, { flags: { ...m.flags, flagged } }, { flags: { flagged } });
  }

  move(id: string, folder: Folder): Promise<void> {
    return this.patch(id, { folder }, { folder });
  }

  /** To the trash; from the trash, for good. */
  async remove(id: string): Promise<void> {
    const before = this.current(id);
    if (!before) return;
    if (before.folder === 'trash') this.store.update((s) => removeLocal(s, id));
    else this.store.update((s) => upsertLocal(s, { ...before, folder: 'trash' }));
    try {
      await this.api.deleteMessage(id);
    } catch (e) {
      this.store.update((s) => upsertLocal(s, before));
      throw e;
    }
  }

  /** Gets an inline text the sync did not carry (too big, or a draft's own). */
  async loadInline(digest: string, type: string): Promise<void> {
    if (this.store.get().inline[digest]) return;
    const text = await this.api.getResourceText(digest);
    this.store.update((s) => addInline(s, digest, { type, text }));
  }

  download(digest: string): Promise<Blob> {
    return this.api.getResource(digest);
  }

  private async uploadText(text: string, type: string): Promise<ResourceRef> {
    const key = `${type}\n${text}`;
    const known = this.textRefs.get(key);
    if (known) return known;
    const info = await this.api.uploadText(text, type);
    const ref = { digest: info.digest, size: info.size, type };
    this.textRefs.set(key, ref);
    // We know this text: keep it as inline content for the reader and list.
    this.store.update((s) => addInline(s, info.digest, { type, text }));
    return ref;
  }

  /** Creates or replaces the draft; returns the server's copy. */
  async saveDraft(form: DraftForm, existing?: MessageObject): Promise<MessageObject> {
    const text = form.text.trim() ? await this.uploadText(form.text, TEXT_TYPE) : undefined;
    const html = form.text.trim() ? await this.uploadText(textToHtml(form.text), HTML_TYPE) : undefined;
    const ids = existing ? viewOf(existing.document) : undefined;
    const threadId = ids?.threadId ?? form.threadId;
    const doc = buildDraft({
      from: this.self,
      to: form.to,
      cc: form.cc,
      bcc: form.bcc,
      subject: form.subject,
      ...(text ? { text } : {}),
      ...(html ? { html } : {}),
      attachments: form.attachments,
      ...(ids?.messageId ? { messageId: ids.messageId } : {}),
      ...(threadId ? { threadId } : {}),
      ...(form.inReplyTo ? { inReplyTo: form.inReplyTo } : {}),
      ...(form.references?.length ? { references: form.references } : {}),
    });
    const saved = existing ? await this.api.replaceDraft(existing.id, doc) : await this.api.createMessage(doc);
    this.store.update((s) => upsertLocal(s, saved));
    return saved;
  }

  /**
   * Saves and sends. The answer to send may be the sent message or not
   * (202 with a status, or nothing): then the message is read back, and
   * when even that fails the sync will bring it.
   */
  async send(form: DraftForm, existing?: MessageObject): Promise<MessageObject> {
    const draft = await this.saveDraft(form, existing);
    const answer = await this.api.send(draft.id);
    const sent = isMessageObject(answer) ? answer : await this.api.getMessage(draft.id).catch(() => undefined);
    if (!isMessageObject(sent)) return draft;
    this.store.update((s) => upsertLocal(s, sent));
    return sent;
  }

  async discardDraft(id: string): Promise<void> {
    const m = this.current(id);
    if (!m) return;
    // A draft goes to the trash first, like any message.
    await this.remove(id);
  }

  status(id: string, signal?: AbortSignal): Promise<DeliveryStatus> {
    return this.api.status(id, signal);
  }

  recall(id: string): Promise<DeliveryStatus> {
    return this.api.recall(id);
  }

  getForwarding(): Promise<ForwardingRule> {
    return this.api.getForwarding();
  }

  async putForwarding(rule: ForwardingRule): Promise<ForwardingRule> {
    return (await this.api.putForwarding(rule)) ?? rule;
  }
}
