#!/usr/bin/env node
import { main } from '../dist/src/cli/vboxvirt.js';
await main(process.argv);
