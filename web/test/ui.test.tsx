// @vitest-environment jsdom
// A smoke test of the mailbox window against the in-page mailbox.
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeMailbox, rfc5322 } from '../src/demo/server';
import { buildDraft, TEXT_TYPE } from '../src/model/compose';
import { noCache } from '../src/sync/persist';
import type { MailActions } from '../src/ui/actions';
import { Modal } from '../src/ui/Dialog';
import { isFinal, StatusPanel } from '../src/ui/StatusPanel';
import { Mailbox } from '../src/ui/Mailbox';
import { onlineServices, type Services } from '../src/ui/services';
import { GlobalStyle } from '../src/ui/theme';

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  window.matchMedia ??= ((q: string) =>
    ({ matches: false, media: q, addEventListener() {}, removeEventListener() {} }) as unknown as MediaQueryList);
  globalThis.ResizeObserver ??= class {
    observe() {}
    disconnect() {}
    unobserve() {}
  } as unknown as typeof ResizeObserver;
  Element.prototype.scrollIntoView ??= function () {};
  globalThis.CSS ??= {} as typeof CSS;
  CSS.escape ??= (s: string) => s.replace(/["\\]/g, '\\$&');
});

let root: Root | undefined;
let services: Services | undefined;

afterEach(async () => {
  await act(async () => root?.unmount());
  await services?.logout();
  document.body.innerHTML = '';
});

async function mount() {
  const fake = new FakeMailbox({ self: 'alice@example.com', deliveryStepMs: 0 });
  const text = await fake.putText('Hello Alice,\nthe photo from Venice.', TEXT_TYPE);
  const photo = await fake.putResource(new Uint8Array([1, 2, 3]), 'image/png');
  const doc = buildDraft({
    from: { name: 'Bob Novak', address: 'bob@example.net' },
    to: [{ address: 'alice@example.com' }],
    cc: [],
    bcc: [],
    subject: 'Vacation photo',
    text,
    attachments: [{ ...photo, filename: 'Venice.png' }],
    messageId: 'm1@example.net',
    threadId: 't1@example.net',
  });
  (doc.envelope[0] as { headers: Record<string, string>[] }).headers.unshift({ Date: rfc5322(new Date()) });
  fake.add('inbox', doc);
  services = await onlineServices({
    account: { name: 'Alice', address: 'alice@example.com' },
    api: {
      baseUrl: 'https://mbx.example.com/',
      tokens: { accessToken: () => Promise.resolve('t'), renew: () => Promise.resolve(false) },
      fetch: fake.fetch,
      xhr: fake.xhr,
    },
    cache: noCache,
    onAuthLost: () => undefined,
    logout: () => Promise.resolve(),
  });
  const div = document.createElement('div');
  document.body.appendChild(div);
  root = createRoot(div);
  const s = services;
  await act(async () => {
    root?.render(
      <>
        <GlobalStyle />
        <Mailbox services={s} onSignedOut={() => undefined} onSignIn={() => undefined} />
      </>,
    );
  });
  return { div, fake };
}

describe('mailbox window', () => {
  it('lists synced mail, shows the unread count, opens a message and marks it read', async () => {
    const { div, fake } = await mount();
    await vi.waitFor(() => expect(div.textContent).toContain('Vacation photo'));
    expect(div.textContent).toContain('Hello Alice,'); // first line of the text
    expect(div.querySelector('[aria-label="Inbox, 1 unread"]')).not.toBeNull();
    expect(div.querySelector('[title="Has attachments"]')).not.toBeNull();
    expect(document.title).toBe('(1) Inbox — Federizer Mail');

    const row = div.querySelector<HTMLElement>('li[data-key="t1@example.net"]');
    await act(async () => row?.click());
    await vi.waitFor(() => expect(div.querySelector('[aria-label="Conversation"]')?.textContent).toContain('the photo from Venice.'));
    expect(div.textContent).toContain('Venice.png');
    await vi.waitFor(() => expect(fake.messages.get('m1')?.flags.seen).toBe(true));
    await vi.waitFor(() => expect(document.title).toBe('Inbox — Federizer Mail'));
  });

  it('opens compose with c, and Send waits for a valid recipient', async () => {
    const { div } = await mount();
    await vi.waitFor(() => expect(div.textContent).toContain('Vacation photo'));
    await act(async () => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'c' }));
    });
    const dialog = document.querySelector('[role="dialog"][aria-label="New message"]');
    expect(dialog).not.toBeNull();
    const send = [...(dialog?.querySelectorAll('button') ?? [])].find((b) => b.textContent?.includes('Send'));
    expect(send?.disabled).toBe(true);
  });
});

describe('modal dialog', () => {
  it('closes on Escape even when the focus has left it (a button that became disabled)', async () => {
    const div = document.createElement('div');
    document.body.appendChild(div);
    root = createRoot(div);
    const onClose = vi.fn();
    await act(async () => {
      root?.render(
        <Modal title="Settings" onClose={onClose}>
          <button disabled>Save</button>
        </Modal>,
      );
    });
    expect(document.activeElement?.getAttribute('role')).toBe('dialog');
    (document.activeElement as HTMLElement).blur();
    expect(document.activeElement).toBe(document.body);
    await act(async () => {
      document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    });
    expect(onClose).toHaveBeenCalledOnce();
    // Once closed (unmounted), Escape does nothing more.
    await act(async () => root?.render(<></>));
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(onClose).toHaveBeenCalledOnce();
  });
});

describe('delivery status panel', () => {
  // The MBX's answer for a local delivery and a local failure (one entry
  // per domain and outcome), and a remote domain still queued.
  const local = {
    id: 'm1',
    recallable: false,
    domains: [
      { domain: 'example.com', recipients: ['bob@example.com'], state: 'delivered' as const, updated: '2024-12-22T18:49:35Z' },
      { domain: 'example.com', recipients: ['nobody@example.com'], state: 'failed' as const, reason: 'no such user here (550 5.1.1)' },
    ],
  };

  it('knows that delivered, fetched and failed are final, queued and transferred not', () => {
    expect(isFinal(local)).toBe(true);
    expect(isFinal({ ...local, domains: [...local.domains, { domain: 'example.net', recipients: ['c@example.net'], state: 'queued' }] })).toBe(false);
    expect(isFinal({ ...local, domains: [{ domain: 'example.net', recipients: ['c@example.net'], state: 'transferred' }] })).toBe(false);
  });

  it('shows each outcome of a domain, and stops polling once nothing can change', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const status = vi.fn(() => Promise.resolve(local));
    const actions = { status, recall: vi.fn() } as unknown as MailActions;
    const errors = vi.spyOn(console, 'error');
    const div = document.createElement('div');
    document.body.appendChild(div);
    root = createRoot(div);
    await act(async () => root?.render(<StatusPanel id="m1" actions={actions} pollMs={1000} />));
    await vi.waitFor(() => expect(div.textContent).toContain('Delivered'));
    expect(div.textContent).toContain('Failed');
    expect(div.textContent).toContain('no such user here (550 5.1.1)');
    expect(div.querySelectorAll('tbody tr')).toHaveLength(2);
    await act(async () => vi.advanceTimersByTimeAsync(5000));
    expect(status).toHaveBeenCalledOnce();
    expect(errors).not.toHaveBeenCalled(); // no duplicate React keys
    vi.useRealTimers();
  });
});
