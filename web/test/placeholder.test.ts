import { describe, expect, it } from 'vitest';
import { buildDraft, seedFor, TEXT_TYPE, HTML_TYPE } from '../src/model/compose';
import { textToHtml, quoteText } from '../src/model/format';
import { snippet, summarize, viewOf } from '../src/model/message';
import {
  header,
  headerList,
  leafInfo,
  originBlock,
  parseParams,
  type PlaceholderDocument,
} from '../src/model/placeholder';

const D1 = 'aSQnmlBT6RndpDnwTSStJUvhlh9XL9_y2QXX42NhKuI';
const D2 = 'Y_I0N3g8WQuGzhsD1VrhAgQ007AbXu9T-H5v3w--zYA';
const D3 = '1pzyqffWbfbh33hrydJl9j09Qgeg70TgZQ_zp0kt4HO';

describe('header parameters', () => {
  it('reads double, single and unquoted values', () => {
    const p = parseParams(`message/external-body; access-type='x-content-addressed-uri'; hash-algorithm="sha256"; size=42`);
    expect(p.value).toBe('message/external-body');
    expect(p.params).toEqual({ 'access-type': 'x-content-addressed-uri', 'hash-algorithm': 'sha256', size: '42' });
  });
  it('reads escaped quotes and RFC 2231 file names', () => {
    expect(parseParams('attachment; filename="a \\"b\\".png"').params.filename).toBe('a "b".png');
    expect(parseParams("attachment; filename*=UTF-8''na%C3%AFve.txt").params.filename).toBe('naïve.txt');
  });
});

describe('compose → document', () => {
  const doc = buildDraft({
    from: { name: 'Alice', address: 'alice@example.com' },
    to: [{ name: 'Bob', address: 'bob@example.net' }],
    cc: [{ name: 'Carol, C.', address: 'carol@example.org' }],
    bcc: [{ address: 'dan@example.net' }],
    subject: 'Vacation photo',
    text: { digest: D1, size: 42, type: TEXT_TYPE },
    html: { digest: D2, size: 109, type: HTML_TYPE },
    attachments: [{ digest: D3, size: 3520247, type: 'image/png', filename: 'Venice.png' }],
    inReplyTo: 'parent@example.net',
    references: ['root@example.net', 'parent@example.net'],
    threadId: 'thread@example.net',
  });

  it('has the SPEC §3 shape', () => {
    expect(doc.envelope).toHaveLength(1);
    const h = originBlock(doc);
    expect(h.map((f) => Object.keys(f)[0])).toEqual([
      'From', 'To', 'Cc', 'Bcc', 'Subject', 'X-Thread-ID', 'In-Reply-To', 'References', 'Content-Type',
    ]);
    expect(header(h, 'From')).toBe('Alice <alice@example.com>');
    expect(header(h, 'Cc')).toBe('"Carol, C." <carol@example.org>');
    expect(header(h, 'content-type')).toBe('multipart/mixed');
    expect(header(h, 'Date')).toBeUndefined(); // a draft
    const [alt, att] = doc.body.parts;
    expect(alt?.headers).toEqual([{ 'Content-Type': 'multipart/alternative' }]);
    expect(alt?.parts?.[0]?.headers).toEqual([
      { 'Content-Disposition': 'inline' },
      { 'Content-ID': `<${D1}>` },
      {
        'Content-Type': [
          'message/external-body; access-type="x-content-addressed-uri"; hash-algorithm="sha256"; size="42"',
          'text/plain; charset=UTF-8',
        ],
      },
    ]);
    expect(att?.headers[0]).toEqual({ 'Content-Disposition': 'attachment; filename="Venice.png"' });
    expect(headerList(att?.headers, 'Content-Type')[1]).toBe('image/png');
    expect(leafInfo(att!)).toMatchObject({ digest: D3, size: 3520247, mediaType: 'image/png', filename: 'Venice.png' });
  });

  it('survives JSON and reads back as the same message', () => {
    const back = JSON.parse(JSON.stringify(doc)) as PlaceholderDocument;
    const v = viewOf(back);
    expect(v.subject).toBe('Vacation photo');
    expect(v.from).toEqual([{ raw: 'Alice <alice@example.com>', name: 'Alice', address: 'alice@example.com', valid: true }]);
    expect(v.cc[0]?.name).toBe('Carol, C.');
    expect(v.bcc[0]?.address).toBe('dan@example.net');
    expect(v.isDraft).toBe(true);
    expect(v.textPart?.digest).toBe(D1);
    expect(v.htmlPart?.digest).toBe(D2);
    expect(v.attachments).toHaveLength(1);
    expect(v.attachments[0]).toMatchObject({ filename: 'Venice.png', size: 3520247, isImage: true });
    expect(v.threadId).toBe('thread@example.net');
    expect(v.inReplyTo).toBe('parent@example.net');
    expect(v.references).toEqual(['root@example.net', 'parent@example.net']);
  });

  it('gives the reader its text from the inline map', () => {
    const s = summarize(
      { id: 'm1', folder: 'inbox', flags: { seen: false, flagged: false }, document: doc },
      { [D1]: { type: TEXT_TYPE, text: '\n> quoted\nHello Bob,\nthe photo.' } },
    );
    expect(s.text).toContain('Hello Bob');
    expect(s.snippet).toBe('Hello Bob,');
    expect(s.hasAttachments).toBe(true);
    expect(s.threadKey).toBe('thread@example.net');
  });
});

describe('received documents', () => {
  const received: PlaceholderDocument = {
    envelope: [
      {
        headers: [
          { 'Message-ID': '<b07d@example.com>' },
          { 'JWT-Assertion-Digest': '<x>' },
          { Received: 'from example.com by example.net; Sun, 22 Dec 2024 20:58:14 +0200' },
        ],
      },
      { 'jwt-assertion': 'eyJ.eyJ.sig' },
      {
        headers: [
          { Date: 'Sun, 22 Dec 2024 20:49:35 +0200' },
          { 'Recipients-Digest': '<r>' },
          { 'Body-Digest': '<b>' },
          { From: 'Alice <alice@example.com>' },
          { Subject: 'Vacation photo' },
          { To: 'Bob <bob@example.net>' },
          { 'Message-ID': '<b07d@example.com>' },
          { 'X-Thread-ID': '<68fb@example.com>' },
          { 'Content-Type': 'multipart/mixed' },
        ],
      },
    ],
    body: {
      parts: [
        {
          headers: [
            { 'Content-Disposition': "attachment; filename='Venice.png'" },
            { 'Content-ID': `<${D3}>` },
            { 'Content-Type': [`message/external-body; access-type='x-content-addressed-uri'; hash-algorithm='sha256'; size='3520247'`, 'image/png'] },
          ],
        },
      ],
    },
  };

  it('takes people and subject from the origin block, dates from Date and Received', () => {
    const v = viewOf(received);
    expect(v.isDraft).toBe(false);
    expect(v.from[0]?.address).toBe('alice@example.com');
    expect(v.date?.toISOString()).toBe('2024-12-22T18:49:35.000Z');
    expect(v.sortDate?.toISOString()).toBe('2024-12-22T18:58:14.000Z');
    expect(v.attachments[0]).toMatchObject({ filename: 'Venice.png', size: 3520247 });
    expect(v.textPart).toBeUndefined();
  });
});

describe('formatting', () => {
  it('makes an HTML alternative with everything escaped', () => {
    const html = textToHtml('Hi **Bob** _you_\n\n- one\n- <two>\n\n> quoted\n[site](https://example.org) <script>x</script>');
    expect(html).toContain('<strong>Bob</strong>');
    expect(html).toContain('<em>you</em>');
    expect(html).toContain('<ul><li>one</li><li>&lt;two&gt;</li></ul>');
    expect(html).toContain('<blockquote>quoted</blockquote>');
    expect(html).toContain('<a href="https://example.org">site</a>');
    expect(html).not.toContain('<script>');
  });
  it('does not make links from javascript: URLs', () => {
    expect(textToHtml('[x](javascript:alert(1))')).not.toContain('href');
  });
  it('quotes replies', () => {
    expect(quoteText('a\n> b')).toBe('> a\n>> b');
    expect(snippet('\n\n  first line  \nsecond')).toBe('first line');
  });
});

describe('reply, reply all, forward', () => {
  const v = viewOf(
    buildDraft({
      from: { name: 'Bob', address: 'bob@example.net' },
      to: [{ address: 'alice@example.com' }, { address: 'carol@example.org' }],
      cc: [{ address: 'dan@example.net' }, { address: 'ALICE@example.com' }],
      bcc: [],
      subject: 'Plans',
      attachments: [{ digest: D3, size: 10, type: 'image/png', filename: 'p.png' }],
      messageId: 'm2@example.net',
      threadId: 't@example.net',
      references: ['m1@example.net'],
    }),
  );
  it('replies to the sender in the same thread', () => {
    const s = seedFor('reply', v, 'hello', 'alice@example.com');
    expect(s.to.map((a) => a.address)).toEqual(['bob@example.net']);
    expect(s.cc).toEqual([]);
    expect(s.subject).toBe('Re: Plans');
    expect(s.inReplyTo).toBe('m2@example.net');
    expect(s.references).toEqual(['m1@example.net', 'm2@example.net']);
    expect(s.threadId).toBe('t@example.net');
    expect(s.text).toContain('> hello');
  });
  it('replies to all but oneself', () => {
    const s = seedFor('replyAll', v, 'hello', 'alice@example.com');
    expect(s.to.map((a) => a.address)).toEqual(['bob@example.net']);
    expect(s.cc.map((a) => a.address)).toEqual(['carol@example.org', 'dan@example.net']);
  });
  it('forwards with the attachments the user owns, by digest', () => {
    const s = seedFor('forward', v, 'hello', 'alice@example.com');
    expect(s.subject).toBe('Fwd: Plans');
    expect(s.to).toEqual([]);
    expect(s.attachments).toEqual([{ digest: D3, size: 10, type: 'image/png', filename: 'p.png' }]);
    expect(s.threadId).toBeUndefined();
    expect(s.text).toContain('Forwarded message');
  });
});
