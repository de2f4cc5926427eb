// The whole chain against the in-page mailbox: compose → draft document →
// server completion → sync → reader model, then send and status.
import { describe, expect, it } from 'vitest';
import { MailboxApi } from '../src/api/client';
import { FakeMailbox } from '../src/demo/server';
import { bodyText, summarize } from '../src/model/message';
import { SyncEngine } from '../src/sync/engine';
import { MailStore } from '../src/sync/store';
import { MailActions } from '../src/ui/actions';

function setup() {
  const fake = new FakeMailbox({ self: 'alice@example.com', deliveryStepMs: 0 });
  const api = new MailboxApi({
    baseUrl: 'https://mbx.example.com/',
    tokens: { accessToken: () => Promise.resolve('t'), renew: () => Promise.resolve(false) },
    fetch: fake.fetch,
  });
  const store = new MailStore();
  const actions = new MailActions(api, store, { name: 'Alice', address: 'alice@example.com' });
  return { fake, api, store, actions };
}

describe('compose → document → reader', () => {
  it('saves a draft the reader rebuilds exactly', async () => {
    const { fake, api, store, actions } = setup();
    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
    const att = await api.uploadText('unused', 'text/plain'); // resources can be anything
    const photo = await fake.putResource(png, 'image/png');
    const form = {
      to: [{ name: 'Bob', address: 'bob@example.net' }],
      cc: [],
      bcc: [{ address: 'carol@example.org' }],
      subject: 'Vacation photo',
      text: 'Hello **Bob**,\nthe photo.',
      attachments: [{ ...photo, filename: 'Venice.png' }],
    };
    const draft = await actions.saveDraft(form);
    expect(draft.folder).toBe('drafts');
    expect(att.digest).toHaveLength(43);

    // A fresh client syncs it from the server.
    const store2 = new MailStore();
    const e = new SyncEngine({ api, store: store2, account: 'alice@example.com', isOnline: () => true, wait: 1 });
    e.start();
    await expect.poll(() => Object.keys(store2.get().messages).length).toBe(1);
    e.stop();
    const s = summarize(store2.get().messages[draft.id]!, store2.get().inline);
    expect(s.view.isDraft).toBe(true);
    expect(s.view.subject).toBe('Vacation photo');
    expect(s.view.to[0]).toMatchObject({ name: 'Bob', address: 'bob@example.net' });
    expect(s.view.bcc[0]?.address).toBe('carol@example.org');
    expect(s.view.messageId).toMatch(/@example\.com$/);
    expect(s.text).toBe(form.text);
    expect(store2.get().inline[s.view.htmlPart!.digest]?.text).toContain('<strong>Bob</strong>');
    expect(s.view.attachments).toMatchObject([{ filename: 'Venice.png', size: 8, mediaType: 'image/png', digest: photo.digest }]);
    // Downloading by digest gives the same bytes.
    const blob = await actions.download(photo.digest);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(png);

    // Editing keeps the server-given ids.
    const again = await actions.saveDraft({ ...form, subject: 'Vacation photos' }, store.get().messages[draft.id]);
    const v2 = summarize(again, store.get().inline).view;
    expect(v2.subject).toBe('Vacation photos');
    expect(v2.messageId).toBe(s.view.messageId);
    expect(v2.threadId).toBe(s.view.threadId);
  });

  it('sends: the message moves to sent with a Date, status per domain, recall', async () => {
    const { actions, store } = setup();
    const sent = await actions.send({
      to: [{ address: 'bob@example.net' }, { address: 'bobby@example.org' }],
      cc: [{ address: 'dan@example.net' }],
      bcc: [],
      subject: 'Hi',
      text: 'Hello',
      attachments: [],
    });
    expect(sent.folder).toBe('sent');
    const v = summarize(store.get().messages[sent.id]!, store.get().inline).view;
    expect(v.isDraft).toBe(false);
    const st = await actions.status(sent.id);
    expect(st.domains.map((d) => [d.domain, d.recipients, d.state])).toEqual([
      ['example.net', ['bob@example.net', 'dan@example.net'], 'queued'],
      ['example.org', ['bobby@example.org'], 'queued'],
    ]);
    expect(st.recallable).toBe(true);
    const after = await actions.recall(sent.id);
    expect(after.recallable).toBe(false);
    // A sent message cannot be replaced.
    await expect(actions.saveDraft({ to: [], cc: [], bcc: [], subject: 'x', text: '', attachments: [] }, sent)).rejects.toMatchObject({
      status: 409,
    });
  });

  it('sends when the answer is not the message (202 with a status, or no body): reads it back', async () => {
    for (const body of ['{"id":"x","status":"queued"}', '']) {
      const fake = new FakeMailbox({ self: 'alice@example.com', deliveryStepMs: 0 });
      const sends: string[] = [];
      const fetch = async (url: string, init?: RequestInit): Promise<Response> => {
        const res = await fake.fetch(url, init);
        if (!url.endsWith('/send')) return res;
        sends.push(url);
        return new Response(body || null, { status: 202, headers: body ? { 'Content-Type': 'application/json' } : {} });
      };
      const api = new MailboxApi({
        baseUrl: 'https://mbx.example.com/',
        tokens: { accessToken: () => Promise.resolve('t'), renew: () => Promise.resolve(false) },
        fetch,
      });
      const store = new MailStore();
      const actions = new MailActions(api, store, { address: 'alice@example.com' });
      const sent = await actions.send({ to: [{ address: 'bob@example.net' }], cc: [], bcc: [], subject: 'Hi', text: 'Hello', attachments: [] });
      expect(sends).toHaveLength(1);
      expect(sent.folder).toBe('sent');
      expect(store.get().messages[sent.id]?.folder).toBe('sent');
      expect(summarize(sent, store.get().inline).view.isDraft).toBe(false);
    }
  });

  it('moves, flags and deletes with the store updated at once', async () => {
    const { fake, actions, store } = setup();
    const d = await actions.saveDraft({ to: [], cc: [], bcc: [], subject: 'x', text: 'y', attachments: [] });
    await actions.toggleFlag(d.id);
    expect(store.get().messages[d.id]?.flags.flagged).toBe(true);
    expect(fake.messages.get(d.id)?.flags.flagged).toBe(true);
    await actions.remove(d.id);
    expect(store.get().messages[d.id]?.folder).toBe('trash');
    await actions.remove(d.id);
    expect(store.get().messages[d.id]).toBeUndefined();
    expect(fake.messages.has(d.id)).toBe(false);
  });

  it('reads text that did not come inline', async () => {
    const { fake, actions, store } = setup();
    const { digest } = await fake.putText('long text');
    await actions.loadInline(digest, 'text/plain; charset=UTF-8');
    expect(store.get().inline[digest]?.text).toBe('long text');
    expect(bodyText({ textPart: { digest } } as never, store.get().inline)).toBe('long text');
  });
});
