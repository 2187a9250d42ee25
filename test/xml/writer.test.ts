/**
 * The XML writer's escaping, read back by a real parser (xmllint): every
 * character that needs escaping in text or in a single-quoted attribute, on its
 * own and mixed with plain text; plain values pass through unchanged.
 */
import { XmlWriter, escapeAttr, escapeText } from '../../src/driver/xml/writer.js';
import { xpath } from '../helpers/xml.js';

const SPECIALS = ['&', '<', '>', "'", '"', '\n', '\r', '\t'];
// what XML 1.0 cannot carry at all: dropped
const FORBIDDEN = ['\u0000', '\u0001', '\u0008', '\u000B', '\u000C', '\u001F', '\uFFFE', '\uFFFF'];

describe('XML writer escaping', () => {
  test('plain values come back unchanged (the same string)', () => {
    for (const s of ['vm-001', '52:54:00:12:34:56', '/home/u/VirtualBox VMs/a b/a b.vdi', 'Ünïcødé 虚拟机', '']) {
      expect(escapeAttr(s)).toBe(s);
      expect(escapeText(s)).toBe(s);
    }
  });

  test('each special character, alone and inside text, survives a parse in an attribute and in text', async () => {
    for (const c of [...SPECIALS, ...FORBIDDEN]) {
      const value = `a${c}b ${c}`;
      const want = FORBIDDEN.includes(c) ? 'ab ' : value;
      const xml = new XmlWriter().open('d').empty('e', { v: value, n: 7, skip: undefined }).text('t', value).close().toString();
      // attribute values are normalised by parsers unless whitespace is written as references
      expect(await xpath(xml, 'string(/d/e/@v)')).toBe(want);
      expect(await xpath(xml, 'string(/d/e/@n)')).toBe('7');
      expect(await xpath(xml, 'count(/d/e/@skip)')).toBe('0');
      // text keeps \n and \t as they are; a bare \r is read back as \n (XML end-of-line handling)
      expect(await xpath(xml, 'string(/d/t)')).toBe(c === '\r' ? want.replace(/\r/g, '\n') : want);
    }
  });
});
