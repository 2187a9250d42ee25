import { aliasFor, isSafeName, normalizeUuid, presentNames, uuidFromBytes, uuidToBytes } from '../../src/driver/names.js';

const U1 = '1a2b3c4d-0000-4000-8000-000000000001';
const U2 = '9f8e7d6c-0000-4000-8000-000000000002';

describe('safe names', () => {
  test.each([
    ['vm1', true],
    ['ubuntu-22.04_test', true],
    ['My VM', false],
    ['', false],
    ['-rf', false],
    ['12345', false],
    ['1a2b3c4d-0000-4000-8000-000000000001', false],
    ['1a2b3c4d000040008000000000000001', false],
    ["it's", false],
    ['a"b', false],
    ['back\\slash', false],
    ['semi;colon', false],
    ['hash#tag', false],
    ['tab\there', false],
    ['new\nline', false],
    ['café', false],
    ['x'.repeat(201), false],
    ['1vm', true],
  ])('isSafeName(%j) = %s', (name, safe) => {
    expect(isSafeName(name)).toBe(safe);
  });

  test('alias = sanitised name, dash, first 8 hex of the UUID; always safe', () => {
    expect(aliasFor('My VM', U1)).toBe('My-VM-1a2b3c4d');
    expect(aliasFor('  spaced  out  ', U1)).toBe('spaced-out-1a2b3c4d');
    expect(aliasFor('Grüße & café', U1)).toBe('Gru-e-cafe-1a2b3c4d');
    expect(aliasFor('', U1)).toBe('vm-1a2b3c4d');
    expect(aliasFor('12345', U1)).toBe('12345-1a2b3c4d');
    expect(aliasFor('-rf', U1)).toBe('rf-1a2b3c4d');
    expect(aliasFor(U2, U1)).toBe(`${U2}-1a2b3c4d`);
    for (const n of ['My VM', '', '12345', '-rf', U2, "a'b\"c\\d;e#f", '日本語', 'x'.repeat(300), '...']) {
      const a = aliasFor(n, U1);
      expect(isSafeName(a)).toBe(true);
      expect(a.endsWith('-1a2b3c4d')).toBe(true);
      expect(a.length).toBeLessThanOrEqual(48 + 9);
    }
  });

  test('presentNames: safe unique names as-is, unsafe and duplicate names aliased, all unique', () => {
    const vms = [
      { uuid: U1, name: 'web' },
      { uuid: U2, name: 'web' },
      { uuid: '00000000-0000-4000-8000-000000000003', name: 'My VM' },
      { uuid: '00000000-0000-4000-8000-000000000004', name: 'db' },
    ];
    const m = presentNames(vms);
    expect(m.get(U1)).toBe('web');
    expect(m.get(U2)).toBe('web-9f8e7d6c');
    expect(m.get('00000000-0000-4000-8000-000000000003')).toBe('My-VM-00000000');
    expect(m.get('00000000-0000-4000-8000-000000000004')).toBe('db');
    expect(new Set(m.values()).size).toBe(4);
  });

  test('UUID text/bytes round trip and normalisation', () => {
    expect(normalizeUuid('{1A2B3C4D-0000-4000-8000-000000000001}')).toBe(U1);
    expect(normalizeUuid('1a2b3c4d000040008000000000000001')).toBe(U1);
    expect(normalizeUuid('nope')).toBeUndefined();
    expect(uuidFromBytes(uuidToBytes(U1))).toBe(U1);
    expect(uuidToBytes(U1).length).toBe(16);
    expect(() => uuidFromBytes(Buffer.alloc(15))).toThrow(TypeError);
  });
});
