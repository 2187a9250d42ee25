// The long-lived half of bench/fastsim (see client.c): runs vboxsim's VBoxManage
// entry point in-process for every client connection. Usage:
//   node server.mjs --entry <dist/src/sim/index.js> --home <VBOX_USER_HOME> --socket <path>
// Prints "ready" on stdout once listening. Each command runs concurrently, as separate
// VBoxManage processes would; the simulator's own state files and session locks are
// what the `node bin/vboxsim.js` processes share too.
import net from 'node:net';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { rmSync } from 'node:fs';

const opt = (name) => {
  const i = process.argv.indexOf(name);
  if (i < 0 || !process.argv[i + 1]) {
    process.stderr.write(`server.mjs: missing ${name}\n`);
    process.exit(2);
  }
  return process.argv[i + 1];
};
const entryPath = opt('--entry');
const home = opt('--home');
const sock = opt('--socket');
const { runVBoxManage } = await import(pathToFileURL(entryPath).href);
if (typeof runVBoxManage !== 'function') throw new Error(`${entryPath} does not export runVBoxManage`);
let user = 'vboxsim';
try {
  user = os.userInfo().username;
} catch {}
const env = { LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', USER: user, LOGNAME: user, VBOX_USER_HOME: home };

function frame(kind, payload) {
  const h = Buffer.alloc(5);
  h[0] = kind;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

function parseArgv(buf) {
  if (buf.length < 4) return null;
  const argc = buf.readUInt32BE(0);
  const argv = [];
  let p = 4;
  for (let i = 0; i < argc; i++) {
    if (p + 4 > buf.length) return null;
    const n = buf.readUInt32BE(p);
    p += 4;
    if (p + n > buf.length) return null;
    argv.push(buf.subarray(p, p + n).toString('utf8'));
    p += n;
  }
  return p === buf.length ? argv : null;
}

rmSync(sock, { force: true });
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  const chunks = [];
  c.on('data', (b) => chunks.push(b));
  c.on('error', () => {});
  c.on('end', async () => {
    const argv = parseArgv(Buffer.concat(chunks));
    if (!argv) {
      c.end(Buffer.concat([frame(2, Buffer.from('vboxsim server: malformed request\n')), frame(3, Buffer.from([0, 0, 0, 1]))]));
      return;
    }
    let r;
    try {
      r = await runVBoxManage(argv, { ...env });
    } catch (e) {
      r = { stdout: '', stderr: `vboxsim server: ${e && e.stack ? e.stack : e}\n`, exitCode: 1 };
    }
    const status = Buffer.alloc(4);
    status.writeInt32BE(Number(r.exitCode ?? 1));
    const out = [];
    if (r.stdout) out.push(frame(1, Buffer.from(String(r.stdout))));
    if (r.stderr) out.push(frame(2, Buffer.from(String(r.stderr))));
    out.push(frame(3, status));
    c.end(Buffer.concat(out));
  });
});
server.listen(sock, () => process.stdout.write('ready\n'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
