/**
 * Declarative XDR type descriptors (RFC 4506 as used by libvirt's rpcgen
 * files). These are plain data: `src/rpc/xdr.ts` compiles each descriptor
 * once into an encoder and a decoder. The TypeScript type of the value a
 * descriptor describes is `Infer<typeof Desc>`.
 *
 * Representation of XDR values in JavaScript:
 *   int / unsigned int / enum   number
 *   hyper / unsigned hyper      number (bigint accepted on encode; decode
 *                               gives a bigint only beyond 2^53)
 *   string<max>                 string (UTF-8 on the wire)
 *   opaque[n]                   Buffer of exactly n bytes (UUIDs)
 *   opaque<max>                 Buffer
 *   T *  (optional)             T | null
 *   T x<max>                    T[]
 *   char x[N]                   string: N 4-byte chars, NUL padded
 *   char x<max>                 string | null: count 4-byte chars, the
 *                               count includes a trailing NUL; null =
 *                               count 0 ('' = count 1, a lone NUL)
 *   struct                      object with the fields in wire order
 */

/** Phantom-typed descriptor. `_t` never exists at run time. */
export interface XdrBase<T> {
  readonly kind: string;
  /** @internal phantom field carrying the value type */
  readonly _t?: T;
}

export interface XdrVoid extends XdrBase<void> { readonly kind: 'void' }
export interface XdrInt extends XdrBase<number> { readonly kind: 'int' }
export interface XdrUint extends XdrBase<number> { readonly kind: 'uint' }
export interface XdrHyper extends XdrBase<number | bigint> { readonly kind: 'hyper' }
export interface XdrUhyper extends XdrBase<number | bigint> { readonly kind: 'uhyper' }
export interface XdrString extends XdrBase<string> { readonly kind: 'string'; readonly max: number }
export interface XdrFixedOpaque extends XdrBase<Buffer> { readonly kind: 'fopaque'; readonly len: number }
export interface XdrVarOpaque extends XdrBase<Buffer> { readonly kind: 'vopaque'; readonly max: number }
export interface XdrCharFixed extends XdrBase<string> { readonly kind: 'charfixed'; readonly len: number }
export interface XdrCharVar extends XdrBase<string | null> { readonly kind: 'charvar'; readonly max: number }
export interface XdrOptional<T> extends XdrBase<T | null> { readonly kind: 'optional'; readonly of: XdrType<T> }
export interface XdrArray<T> extends XdrBase<T[]> { readonly kind: 'array'; readonly of: XdrType<T>; readonly max: number }
export interface XdrStruct<T> extends XdrBase<T> {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [string, XdrType<unknown>]>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type XdrType<T = any> =
  | (XdrVoid & XdrBase<T>)
  | (XdrInt & XdrBase<T>)
  | (XdrUint & XdrBase<T>)
  | (XdrHyper & XdrBase<T>)
  | (XdrUhyper & XdrBase<T>)
  | (XdrString & XdrBase<T>)
  | (XdrFixedOpaque & XdrBase<T>)
  | (XdrVarOpaque & XdrBase<T>)
  | (XdrCharFixed & XdrBase<T>)
  | (XdrCharVar & XdrBase<T>)
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | (XdrOptional<any> & XdrBase<T>)
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | (XdrArray<any> & XdrBase<T>)
  | (XdrStruct<T>);

/** The JavaScript value type a descriptor describes. */
export type Infer<D> = D extends XdrBase<infer T> ? T : never;

type Fields = Record<string, XdrBase<unknown>>;
type StructValue<F extends Fields> = { -readonly [K in keyof F]: Infer<F[K]> };

export const xvoid: XdrVoid = Object.freeze({ kind: 'void' });
export const xint: XdrInt = Object.freeze({ kind: 'int' });
export const xuint: XdrUint = Object.freeze({ kind: 'uint' });
export const xhyper: XdrHyper = Object.freeze({ kind: 'hyper' });
export const xuhyper: XdrUhyper = Object.freeze({ kind: 'uhyper' });

export function xstring(max: number): XdrString {
  return { kind: 'string', max };
}
export function xfopaque(len: number): XdrFixedOpaque {
  return { kind: 'fopaque', len };
}
export function xvopaque(max: number): XdrVarOpaque {
  return { kind: 'vopaque', max };
}
/** `char x[N]`: N chars of 4 bytes each. */
export function xcharFixed(len: number): XdrCharFixed {
  return { kind: 'charfixed', len };
}
/** `char x<MAX>`: count, then count chars of 4 bytes each (count includes the NUL). */
export function xcharVar(max: number): XdrCharVar {
  return { kind: 'charvar', max };
}
export function xoptional<T>(of: XdrBase<T>): XdrOptional<T> {
  return { kind: 'optional', of: of as XdrType<T> };
}
export function xarray<T>(of: XdrBase<T>, max: number): XdrArray<T> {
  return { kind: 'array', of: of as XdrType<T>, max };
}
/** A struct; the object literal's key order is the wire order. */
export function xstruct<F extends Fields>(name: string, fields: F): XdrStruct<StructValue<F>> {
  return {
    kind: 'struct',
    name,
    fields: Object.entries(fields).map(([k, v]) => [k, v as XdrType<unknown>] as const),
  };
}
