/** The virsh command suite (virsh-commands.suite.ts) on the `sim` backend. */
import { virshCommandsSuite } from './virsh-commands.suite.js';

virshCommandsSuite('sim');
