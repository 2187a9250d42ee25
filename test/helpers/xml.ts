/**
 * XPath over XML text with the real `xmllint` (libxml2-utils): tests parse
 * what virsh printed instead of matching substrings. Also rejects XML that
 * is not well-formed.
 *
 *   await xpath(xml, 'string(/domain/name)')                 // 'vm1'
 *   await xpathEach(xml, '/domain/os/boot', 'string(@dev)')  // ['network', 'hd']
 */
import { run } from './proc.js';

export async function xpath(xml: string, expr: string): Promise<string> {
  const r = await run('xmllint', ['--nonet', '--xpath', expr, '-'], { input: xml, timeoutMs: 10_000 });
  // xmllint exits 10 for "XPath set is empty" with a node-set expression; string()/count() always succeed
  if (r.rc === 10) return '';
  if (r.rc !== 0) throw new Error(`xmllint --xpath ${expr} failed rc=${r.rc}: ${r.stderr}\n--- xml ---\n${xml}`);
  return r.stdout.replace(/\n$/, '');
}

/** For each node matched by `nodes`, evaluate `valueExpr` relative to it. */
export async function xpathEach(xml: string, nodes: string, valueExpr: string): Promise<string[]> {
  const n = Number(await xpath(xml, `count(${nodes})`));
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const rel = valueExpr.replace(/^string\((.*)\)$/, '$1');
    out.push(await xpath(xml, `string((${nodes})[${i}]/${rel})`));
  }
  return out;
}

/** Throws unless `xml` is well-formed (xmllint --noout). */
export async function assertWellFormed(xml: string): Promise<void> {
  const r = await run('xmllint', ['--nonet', '--noout', '-'], { input: xml, timeoutMs: 10_000 });
  if (r.rc !== 0) throw new Error(`not well-formed XML: ${r.stderr}\n--- xml ---\n${xml}`);
}
