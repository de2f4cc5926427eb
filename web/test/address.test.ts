import { describe, expect, it } from 'vitest';
import { formatAddress, isValidAddress, parseAddressList } from '../src/model/address';

describe('address validation', () => {
  it.each([
    'bob@example.net',
    'first.last+tag@sub.example.co.uk',
    '"odd name"@example.com',
    "o'neil@example.ie",
    'josé@exämple.de',
  ])('accepts %s', (a) => expect(isValidAddress(a)).toBe(true));

  it.each([
    '',
    'bob',
    'bob@',
    '@example.net',
    'bob@localhost',
    'bob@example..net',
    'bob@-example.net',
    'bob@example.123',
    'two@@example.net',
    'a b@example.net',
    '.bob@example.net',
    'bob.@example.net',
    `${'x'.repeat(65)}@example.net`,
  ])('refuses %s', (a) => expect(isValidAddress(a)).toBe(false));
});

describe('address lists', () => {
  it('parses what people type', () => {
    const list = parseAddressList('Bob <bob@example.net>, "Weber, Carol" <carol@example.org>; dan@example.net, nope');
    expect(list.map((a) => [a.name, a.address, a.valid])).toEqual([
      ['Bob', 'bob@example.net', true],
      ['Weber, Carol', 'carol@example.org', true],
      [undefined, 'dan@example.net', true],
      [undefined, 'nope', false],
    ]);
  });
  it('formats with quotes when needed', () => {
    expect(formatAddress({ name: 'Weber, Carol', address: 'c@example.org' })).toBe('"Weber, Carol" <c@example.org>');
    expect(formatAddress({ name: 'Bob', address: 'b@example.net' })).toBe('Bob <b@example.net>');
    expect(formatAddress({ address: 'b@example.net' })).toBe('b@example.net');
  });
  it('round-trips through format and parse', () => {
    const a = { name: 'Say "hi"', address: 'x@example.com' };
    const [p] = parseAddressList(formatAddress(a));
    expect(p?.name).toBe('Say "hi"');
    expect(p?.address).toBe('x@example.com');
  });
});
