/**
 * A tiny XML writer producing libvirt-shaped text: two-space indentation,
 * single-quoted attributes, `<empty/>` elements, no XML declaration (MAAS parses
 * our XML with lxml from a str, which rejects an encoding declaration).
 */

// Most values (names, numbers, paths, MACs) need no escaping: one test, no copies.
// eslint-disable-next-line no-control-regex
const TEXT_SPECIAL = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
// eslint-disable-next-line no-control-regex
const ATTR_SPECIAL = /[&<>'"\u0000-\u001F\uFFFE\uFFFF]/;

/** Escape text content. */
export function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return stripInvalidXmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escape an attribute value for single quotes. */
export function escapeAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return stripInvalidXmlChars(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

/** XML 1.0 forbids most C0 control characters even as references: drop them. */
export function stripInvalidXmlChars(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

export type Attrs = Record<string, string | number | undefined | null | false>;

function attrString(attrs?: Attrs): string {
  if (!attrs) return '';
  let out = '';
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined || v === null || v === false) continue;
    out += ` ${k}='${typeof v === 'number' ? v : escapeAttr(v)}'`;
  }
  return out;
}

export class XmlWriter {
  private readonly lines: string[] = [];
  private depth = 0;
  private readonly stack: string[] = [];

  private pad(): string {
    return '  '.repeat(this.depth);
  }

  /** `<name attrs>` and descend. */
  open(name: string, attrs?: Attrs): this {
    this.lines.push(`${this.pad()}<${name}${attrString(attrs)}>`);
    this.stack.push(name);
    this.depth++;
    return this;
  }

  close(): this {
    const name = this.stack.pop();
    if (name === undefined) throw new Error('XmlWriter: close without open');
    this.depth--;
    this.lines.push(`${this.pad()}</${name}>`);
    return this;
  }

  /** `<name attrs/>` */
  empty(name: string, attrs?: Attrs): this {
    this.lines.push(`${this.pad()}<${name}${attrString(attrs)}/>`);
    return this;
  }

  /** `<name attrs>text</name>` */
  text(name: string, text: string | number, attrs?: Attrs): this {
    this.lines.push(`${this.pad()}<${name}${attrString(attrs)}>${escapeText(String(text))}</${name}>`);
    return this;
  }

  toString(): string {
    if (this.stack.length) throw new Error(`XmlWriter: unclosed <${this.stack.join('><')}>`);
    return this.lines.join('\n') + '\n';
  }
}
