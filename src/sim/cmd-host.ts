/** Host-level listings and media/network commands (filled in for issue 6). */
import type { Ctx } from './context.js';

/** `list <sub>` for the non-VM listings; false if `sub` is unknown. */
export async function listExtra(_ctx: Ctx, _sub: string, _long: boolean): Promise<boolean> {
  return false;
}
