/**
 * Declarative libvirt wire definitions, in one place: program numbers,
 * constants, XDR layouts of every struct, the procedure table. No I/O; the
 * codec that compiles these layouts lives in src/rpc/xdr.ts.
 */
export * from './constants.js';
export * from './xdr.js';
export * from './structs.js';
export * from './procedures.js';
