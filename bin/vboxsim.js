#!/usr/bin/env node
// vboxsim: a VirtualBox 7.0 VBoxManage look-alike (see docs/vboxsim.md). Build first: npx tsc -p .
import { main } from '../dist/src/sim/cli.js';

main().catch((e) => {
  process.stderr.write(`vboxsim: ${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(1);
});
