/** Storage and host-network commands (issue 6). */
import type { Ctx } from './context.js';

export const COMMANDS: Record<string, (ctx: Ctx, args: string[]) => Promise<void>> = {};
