// `?demo`: a sample mailbox served by FakeMailbox inside the page, for
// development and screenshots. Only reachable in dev and `--mode demo` builds.
import type { BootState } from '../ui/boot';
import { onlineServices } from '../ui/services';
import { noCache } from '../sync/persist';
import { buildDraft, HTML_TYPE, TEXT_TYPE, type AttachmentRef } from '../model/compose';
import { textToHtml } from '../model/format';
import { parseAddress, type Address } from '../model/address';
import type { HeaderBlock, PlaceholderDocument } from '../model/placeholder';
import { FakeMailbox, rfc5322 } from './server';

const ME: Address = { name: 'Alice Martin', address: 'alice@example.com' };

function addr(s: string): Address {
  const p = parseAddress(s);
  return p.name ? { name: p.name, address: p.address } : { address: p.address };
}

async function picture(): Promise<Uint8Array> {
  const c = document.createElement('canvas');
  c.width = 640;
  c.height = 400;
  const g = c.getContext('2d');
  if (g) {
    const sky = g.createLinearGradient(0, 0, 0, 400);
    sky.addColorStop(0, '#f7c59f');
    sky.addColorStop(0.55, '#e98a6b');
    sky.addColorStop(0.56, '#2e5e7e');
    sky.addColorStop(1, '#173447');
    g.fillStyle = sky;
    g.fillRect(0, 0, 640, 400);
    g.fillStyle = '#fbe3b8';
    g.beginPath();
    g.arc(470, 170, 42, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#3d2b2b';
    for (let i = 0; i < 9; i++) g.fillRect(30 + i * 68, 150 + ((i * 37) % 50), 46, 80);
    g.fillRect(300, 80, 26, 150);
  }
  const blob = await new Promise<Blob | null>((r) => c.toBlob(r, 'image/png'));
  return new Uint8Array(blob ? await blob.arrayBuffer() : new ArrayBuffer(0));
}

interface Fixture {
  folder: 'inbox' | 'sent' | 'drafts' | 'trash';
  from: string;
  to: string[];
  cc?: string[];
  subject: string;
  text: string;
  html?: string;
  minutesAgo: number;
  seen?: boolean;
  flagged?: boolean;
  thread?: string;
  inReplyTo?: string;
  attachments?: AttachmentRef[];
  draft?: boolean;
  forwardedFrom?: string;
}

export async function populate(fake: FakeMailbox): Promise<void> {
  const png = await picture();
  const photo = await fake.putResource(png, 'image/png');
  const pdf = await fake.putResource(new TextEncoder().encode('%PDF-1.4\n% demo\n'), 'application/pdf');
  const newsletterHtml =
    '<h2 style="color:#2f5fd0">This week at the Lagoon Club</h2>' +
    '<p>Hello Alice, here is what is on. <img src="https://tracker.example.org/pixel.gif" width="1" height="1" alt=""></p>' +
    '<p><img src="https://cdn.example.org/banner.jpg" alt="Banner"></p>' +
    '<script>alert("this never runs")</script><img src="x" onerror="alert(1)" alt="">' +
    '<ul><li>Thursday: rowing at dawn</li><li>Saturday: glass workshop in Murano</li></ul>' +
    '<p><a href="javascript:alert(2)">Unsafe link</a> · <a href="https://example.org/club">Club page</a></p>';
  const fx: Fixture[] = [
    {
      folder: 'inbox', from: 'Bob Novak <bob@example.net>', to: ['Alice Martin <alice@example.com>'],
      subject: 'Vacation photo', minutesAgo: 14, thread: 't-venice',
      text: 'Hi Alice,\n\nHere is the photo from Venice I promised. The light at San Marco was **unreal**.\n\nSee you soon,\nBob',
      attachments: [{ ...photo, filename: 'Venice.png' }],
    },
    {
      folder: 'inbox', from: 'Carol Weber <carol@example.org>', to: ['Alice Martin <alice@example.com>'],
      cc: ['Dan Kim <dan@example.net>'], subject: 'Quarterly planning', minutesAgo: 60 * 26, thread: 't-plan', seen: true,
      text: 'Alice, could you share the draft agenda for Thursday?\n\nThanks,\nCarol',
    },
    {
      folder: 'sent', from: 'Alice Martin <alice@example.com>', to: ['Carol Weber <carol@example.org>'],
      cc: ['Dan Kim <dan@example.net>'], subject: 'Re: Quarterly planning', minutesAgo: 60 * 25, thread: 't-plan', seen: true,
      text: 'Here it is:\n\n- Budget review\n- Hiring\n- The federation demo\n\nAlice',
      attachments: [{ ...pdf, filename: 'agenda.pdf' }],
    },
    {
      folder: 'inbox', from: 'Carol Weber <carol@example.org>', to: ['Alice Martin <alice@example.com>'],
      cc: ['Dan Kim <dan@example.net>'], subject: 'Re: Quarterly planning', minutesAgo: 60 * 3, thread: 't-plan',
      text: 'Perfect, thank you! Let us add ten minutes for questions at the end.\n\n> Here it is:',
    },
    {
      folder: 'inbox', from: 'Lagoon Club <news@lagoon.example.org>', to: ['alice@example.com'],
      subject: 'This week at the Lagoon Club', minutesAgo: 60 * 30, seen: true,
      text: 'This week at the Lagoon Club\n\nThursday: rowing at dawn\nSaturday: glass workshop in Murano',
      html: newsletterHtml,
    },
    {
      folder: 'inbox', from: 'Dan Kim <dan@example.net>', to: ['Alice Martin <alice@example.com>'],
      subject: 'Lunch on Friday?', minutesAgo: 60 * 24 * 3, seen: true, flagged: true,
      text: 'There is a new place near the station. 12:30?',
    },
    {
      folder: 'inbox', from: 'Bobby <bobby@example.org>', to: ['Alice Martin <alice@example.com>'],
      subject: 'Fwd: Conference badge', minutesAgo: 60 * 24 * 9, seen: true, forwardedFrom: 'bob@example.net',
      text: 'Forwarded automatically from my other address.\n\nYour badge will be at the front desk.',
    },
    {
      folder: 'sent', from: 'Alice Martin <alice@example.com>', to: ['Bob Novak <bob@example.net>'],
      subject: 'Photos from the trip', minutesAgo: 60 * 24 * 12, seen: true,
      text: 'Bob, could you send me the photo from Venice?',
    },
    {
      folder: 'drafts', from: 'Alice Martin <alice@example.com>', to: ['Erin <erin@example.com>'],
      subject: 'Notes for the review', minutesAgo: 40, seen: true, draft: true,
      text: 'Erin, a few notes before the review:\n\n- ',
    },
    {
      folder: 'trash', from: 'Offers <offers@shop.example.net>', to: ['alice@example.com'],
      subject: 'Last chance: 20% off', minutesAgo: 60 * 24 * 20, seen: true,
      text: 'Everything must go.',
    },
  ];
  const now = Date.now();
  for (const f of fx) {
    const text = await fake.putText(f.text, TEXT_TYPE);
    const html = await fake.putText(f.html ?? textToHtml(f.text), HTML_TYPE);
    const threadId = f.thread ? `${f.thread}@example.org` : `${crypto.randomUUID()}@example.net`;
    const doc: PlaceholderDocument = buildDraft({
      from: addr(f.from),
      to: f.to.map(addr),
      cc: (f.cc ?? []).map(addr),
      bcc: [],
      subject: f.subject,
      text,
      html,
      attachments: f.attachments ?? [],
      messageId: `${crypto.randomUUID()}@${addr(f.from).address.split('@')[1] ?? 'example.com'}`,
      threadId,
    });
    const when = new Date(now - f.minutesAgo * 60_000);
    const first = doc.envelope[0];
    if (!f.draft && first && 'headers' in first) {
      first.headers.unshift({ Date: rfc5322(when) });
      if (f.folder !== 'sent') {
        const receipt: HeaderBlock = [
          { 'Message-ID': '<demo>' },
          { Received: `from example.net by example.com; ${rfc5322(new Date(when.getTime() + 20_000))}` },
        ];
        if (f.forwardedFrom) receipt.unshift({ 'Forwarded-From': f.forwardedFrom }, { 'Forwarded-To': 'bobby@example.org' });
        doc.envelope.unshift({ headers: receipt });
      }
    }
    fake.add(f.folder, doc, { seen: f.seen ?? false, flagged: f.flagged ?? false });
  }
}

/** New mail a little later, to show it arriving without a reload. */
function later(fake: FakeMailbox): void {
  setTimeout(() => {
    void (async () => {
      const text = await fake.putText('Are we still on for the demo tomorrow? The federation is ready.', TEXT_TYPE);
      const doc = buildDraft({
        from: { name: 'Bob Novak', address: 'bob@example.net' },
        to: [ME],
        cc: [],
        bcc: [],
        subject: 'Demo tomorrow',
        text,
        attachments: [],
        messageId: `${crypto.randomUUID()}@example.net`,
        threadId: `${crypto.randomUUID()}@example.net`,
      });
      const first = doc.envelope[0];
      if (first && 'headers' in first) first.headers.unshift({ Date: rfc5322(new Date()) });
      fake.add('inbox', doc);
    })();
  }, 25_000);
}

export async function bootDemo(set: (s: BootState) => void): Promise<void> {
  const fake = new FakeMailbox({ self: ME.address });
  await populate(fake);
  later(fake);
  const services = await onlineServices({
    account: ME,
    api: {
      baseUrl: window.location.origin + '/',
      tokens: { accessToken: () => Promise.resolve('demo'), renew: () => Promise.resolve(false) },
      fetch: fake.fetch,
      xhr: fake.xhr,
    },
    cache: noCache,
    demo: true,
    onAuthLost: () => set({ kind: 'signedOut' }),
    logout: () => Promise.resolve(),
  });
  set({ kind: 'ready', services });
}

export function signInDemo(): Promise<void> {
  window.location.reload();
  return Promise.resolve();
}
