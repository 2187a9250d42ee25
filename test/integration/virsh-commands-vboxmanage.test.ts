/** The virsh command suite (virsh-commands.suite.ts) on the `vboxmanage` backend. */
import { virshCommandsSuite } from './virsh-commands.suite.js';

virshCommandsSuite('vboxmanage');
