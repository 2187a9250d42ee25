/**
 * Reading client XML with a real parser (@xmldom/xmldom: no entity expansion, no
 * network access) and small helpers over its DOM.
 */
import { createRequire } from 'node:module';
import type { DOMParser as DOMParserType, Element as XElement, Node as XNode } from '@xmldom/xmldom';
import { xmlSyntaxError, xmlError, type XmlKind } from './errors.js';

export type El = XElement;

/**
 * The parser is loaded on the first XML a client sends (define, attach-device…):
 * @xmldom/xmldom costs ~5 MB of resident memory that a daemon only answering
 * queries never needs. It is a CommonJS package, so `require` keeps parsing synchronous.
 */
let parserClass: typeof DOMParserType | undefined;
function domParser(): typeof DOMParserType {
  if (!parserClass) parserClass = (createRequire(import.meta.url)('@xmldom/xmldom') as { DOMParser: typeof DOMParserType }).DOMParser;
  return parserClass;
}

/** Largest XML document we accept from a client (libvirt caps RPC strings at 4 MiB). */
export const MAX_XML_BYTES = 4 * 1024 * 1024;
/** More elements or deeper nesting than any real definition has: refused before parsing (the DOM parser is slow on them). */
export const MAX_XML_ELEMENTS = 20_000;
export const MAX_XML_DEPTH = 128;

/**
 * A linear pre-scan counting start tags and nesting depth (approximate: it does
 * not parse attributes, which is enough for a limit). Keeps one client's
 * pathological document from blocking the event loop for everybody.
 */
export function checkXmlSize(kind: XmlKind, text: string): void {
  let elements = 0;
  let depth = 0;
  let maxDepth = 0;
  const n = text.length;
  for (let i = text.indexOf('<'); i >= 0 && i < n; i = text.indexOf('<', i + 1)) {
    const c = text.charCodeAt(i + 1);
    if (c === 47 /* / */) { depth--; continue; }
    if (c === 33 /* ! */ || c === 63 /* ? */) continue;
    elements++;
    const end = text.indexOf('>', i + 1);
    if (end < 0) break;
    if (text.charCodeAt(end - 1) !== 47 /* / */) {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
    }
    i = end;
    if (elements > MAX_XML_ELEMENTS) throw xmlError(kind, `document has more than ${MAX_XML_ELEMENTS} elements`);
    if (maxDepth > MAX_XML_DEPTH) throw xmlError(kind, `document nests elements deeper than ${MAX_XML_DEPTH} levels`);
  }
}

/** Parse `text` and return its root element, checking the root's name. */
export function parseXmlRoot(kind: XmlKind, text: string, rootName: string | string[]): El {
  if (typeof text !== 'string') throw xmlSyntaxError(kind, 1, 'Document is empty');
  if (text.length > MAX_XML_BYTES) throw xmlError(kind, `document larger than ${MAX_XML_BYTES} bytes`);
  if (text.trim() === '') throw xmlSyntaxError(kind, 1, 'Document is empty');
  checkXmlSize(kind, text);
  let firstError: { line: number; message: string } | undefined;
  let doc;
  try {
    doc = new (domParser())({
      onError: (level: string, message: string, context?: unknown) => {
        if (level === 'warning') return;
        const loc = (context as { locator?: { lineNumber?: number } } | undefined)?.locator;
        firstError ??= { line: loc?.lineNumber ?? lineOf(message), message: cleanMessage(message) };
        throw new Error(message);
      },
    }).parseFromString(text, 'text/xml');
  } catch (e) {
    const msg = firstError?.message ?? cleanMessage(e instanceof Error ? e.message : String(e));
    throw xmlSyntaxError(kind, firstError?.line ?? 1, msg);
  }
  const root = doc.documentElement as El | null;
  if (!root) throw xmlSyntaxError(kind, 1, 'Document is empty');
  const names = Array.isArray(rootName) ? rootName : [rootName];
  if (!names.includes(root.localName ?? root.tagName)) {
    throw xmlError(kind, `expected root element <${names[0]}>, found <${root.tagName}>`);
  }
  return root;
}

function lineOf(message: string): number {
  const m = /line:(\d+)/.exec(message);
  return m ? Number(m[1]) : 1;
}

function cleanMessage(message: string): string {
  return message
    .replace(/^\[xmldom [a-zA-Z]*\]\s*/, '')
    .replace(/\s*@#\[line:\d+,col:\d+\]\s*$/s, '')
    .replace(/^Reporting \w+ "(.*)" caused .*$/s, '$1')
    .split('\n')[0]!
    .trim();
}

export function isElement(n: XNode | null | undefined): n is El {
  return !!n && n.nodeType === 1;
}

/** Direct child elements (optionally only those named `name`). */
export function children(el: El, name?: string): El[] {
  const out: El[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (isElement(n) && (name === undefined || n.tagName === name)) out.push(n);
  }
  return out;
}

export function child(el: El, name: string): El | undefined {
  return children(el, name)[0];
}

export function attr(el: El | undefined, name: string): string | undefined {
  if (!el || !el.hasAttribute(name)) return undefined;
  return el.getAttribute(name) ?? undefined;
}

/** Text content, trimmed. */
export function textOf(el: El | undefined): string | undefined {
  if (!el) return undefined;
  return (el.textContent ?? '').trim();
}

/** Text content, untrimmed (descriptions keep their spacing). */
export function rawTextOf(el: El | undefined): string | undefined {
  if (!el) return undefined;
  return el.textContent ?? '';
}

/** Convert a libvirt scaled integer (`<memory unit='MiB'>512</memory>`) to bytes. */
export function scaledToBytes(kind: XmlKind, value: string | undefined, unit: string | undefined, defaultUnit: string, what: string): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) {
    throw xmlError(kind, `invalid value '${value ?? ''}' for ${what}`);
  }
  const n = Number(value.trim());
  const u = (unit ?? defaultUnit).trim();
  const table: Record<string, number> = {
    b: 1, bytes: 1,
    k: 1024, kib: 1024, kb: 1000,
    m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
    g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
    t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
    p: 1024 ** 5, pib: 1024 ** 5, pb: 1000 ** 5,
    e: 1024 ** 6, eib: 1024 ** 6, eb: 1000 ** 6,
  };
  const mult = table[u.toLowerCase()];
  if (mult === undefined) throw xmlError(kind, `unknown suffix '${u}' for ${what}`);
  const bytes = n * mult;
  if (!Number.isSafeInteger(bytes)) throw xmlError(kind, `value '${value}' ${u} too large for ${what}`);
  return bytes;
}
