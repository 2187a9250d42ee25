#!/usr/bin/env node
// virt-ssh-helper for vboxvirt: joins stdin/stdout to the daemon's unix socket.
// virsh (libvirt >= 8.5) runs `virt-ssh-helper [-r] URI` on the remote host
// through the host's own sshd; see docs/transports.md.
//
// Socket: $VBOXVIRT_SOCKET, else the daemon's default
// ($XDG_STATE_HOME/vboxvirt/libvirt-sock or ~/.local/state/vboxvirt/libvirt-sock)
// if it exists, else /var/run/libvirt/libvirt-sock. With -r, "-ro" is appended.
// Stand-alone on purpose (no build needed, nothing but node:*).
import net from 'node:net';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const PROG = 'virt-ssh-helper';

function usage(out) {
  out.write(`usage: ${PROG} [-r|--readonly] URI\n\nJoin stdin/stdout to the vboxvirt daemon's unix socket (set VBOXVIRT_SOCKET to choose it).\n`);
}

function fail(msg, code = 1) {
  process.stderr.write(`${PROG}: ${msg}\n`);
  process.exit(code);
}

export function defaultSocket(env = process.env) {
  if (env.VBOXVIRT_SOCKET) return { path: env.VBOXVIRT_SOCKET, explicit: true };
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/')
    ? join(env.XDG_STATE_HOME, 'vboxvirt')
    : join(env.HOME || homedir(), '.local', 'state', 'vboxvirt');
  const own = join(state, 'libvirt-sock');
  if (existsSync(own)) return { path: own, explicit: false };
  return { path: '/var/run/libvirt/libvirt-sock', explicit: false };
}

function main(argv) {
  let readOnly = false;
  const rest = [];
  for (const a of argv) {
    if (a === '-r' || a === '--readonly') readOnly = true;
    else if (a === '-h' || a === '--help') {
      usage(process.stdout);
      process.exit(0);
    } else if (a === '-V' || a === '--version') {
      process.stdout.write(`${PROG} (vboxvirt)\n`);
      process.exit(0);
    } else if (a.startsWith('-') && a !== '-') fail(`unknown option '${a}'`, 2);
    else rest.push(a);
  }
  if (rest.length !== 1) {
    usage(process.stderr);
    process.exit(2);
  }
  const uri = rest[0];
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri)) fail(`invalid URI '${uri}'`, 2);
  const base = defaultSocket().path;
  const path = readOnly ? `${base}-ro` : base;

  const sock = net.connect({ path });
  sock.once('error', (e) => {
    fail(`cannot connect to '${path}': ${e.message}`);
  });
  sock.once('connect', () => {
    sock.removeAllListeners('error');
    sock.on('error', (e) => fail(`connection to '${path}' failed: ${e.message}`));
    process.stdin.pipe(sock);
    sock.pipe(process.stdout);
    // stdin closed (the ssh channel went away) → half-close toward the daemon.
    process.stdin.on('end', () => sock.end());
    process.stdout.on('error', () => {
      sock.destroy();
      process.exit(0);
    });
    sock.once('close', () => process.exit(0));
  });
}

main(process.argv.slice(2));
