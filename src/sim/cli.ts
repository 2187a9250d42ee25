/** `vboxsim` command line: runs one VBoxManage command line and exits like VBoxManage would. */
import { runVBoxManage } from './index.js';

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  // A reader that went away (`vboxsim … | head`): exit quietly like a process killed by SIGPIPE would.
  for (const s of [process.stdout, process.stderr]) s.on('error', () => process.exit(141));
  // Keep the event loop alive while the command runs (a `hang` fault never settles).
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const r = await runVBoxManage(argv, process.env);
  clearInterval(keepAlive);
  await new Promise<void>((resolve) => process.stdout.write(r.stdout, () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write(r.stderr, () => resolve()));
  if (r.signal) {
    process.kill(process.pid, r.signal);
    return;
  }
  process.exitCode = r.exitCode;
}
