/**
 * The contract between transports (TCP, TLS, SSH, unix socket, stdio) and the
 * daemon. A transport authenticates the peer, then hands the daemon a byte
 * stream and who is on the other end. It never looks inside the RPC bytes.
 */
import type { Duplex } from 'node:stream';

export type TransportKind = 'tcp' | 'tls' | 'ssh' | 'unix' | 'stdio';

/** Who is on the other end of a connection: used for policy, logs and the audit log. */
export interface Identity {
  transport: TransportKind;
  /** Remote address (`127.0.0.1:53422`), or `local` for unix/stdio. */
  address: string;
  /** SSH user name, TLS certificate subject CN, unix peer user… if authenticated. */
  user?: string;
  /** How the user was authenticated: `publickey`, `password`, `certificate`, `none`. */
  authMethod?: 'publickey' | 'password' | 'certificate' | 'none';
  /** SSH key fingerprint (SHA256:…) or TLS certificate fingerprint. */
  fingerprint?: string;
  /** The transport asked for a read-only connection (`virt-ssh-helper -r`, `…-sock-ro`). */
  readOnlyTransport?: boolean;
}

/** A short printable form for logs: `ssh:alice@10.0.0.5:4242`, `tcp:127.0.0.1:5000`. */
export function describeIdentity(id: Identity): string {
  const who = id.user ? `${id.user}@` : '';
  return `${id.transport}:${who}${id.address}`;
}

/** What a transport calls once a peer is accepted. */
export interface ConnectionSink {
  /**
   * Serve the libvirt RPC protocol on `stream` until either side closes it.
   * The daemon owns the stream from here on (it ends/destroys it).
   */
  attach(stream: Duplex, identity: Identity): void;
}

/** A listening transport. */
export interface Listener {
  readonly kind: TransportKind;
  /** Where it listens, as printed in logs (`127.0.0.1:16509`, `/run/vboxvirt.sock`). */
  readonly address: string;
  close(): Promise<void>;
}

/** Default ports of the built-in SSH server and the TLS listener (libvirtd's TLS port is 16514). */
export const DEFAULT_SSH_PORT = 16522;
export const DEFAULT_TLS_PORT = 16514;
