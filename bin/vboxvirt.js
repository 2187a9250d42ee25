#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2 (MB): V8's young generation otherwise grows to 2 × 16 MB under
// load and keeps that memory afterwards; capped, the daemon's resident memory stays flat
// (docs/performance.md, "Memory"). `npm start` and the benchmark pass the same flag.
import { main } from '../dist/src/cli/vboxvirt.js';
await main(process.argv);
