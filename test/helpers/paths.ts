/**
 * Where things are, resolved from this file's location (never from the cwd):
 * the project root, its bin/ entry points and the shared reference material
 * (`../shared` next to the project root; used by path, never copied).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The project root (the folder holding package.json). */
export const ROOT = path.resolve(here, '..', '..');
/** The shared reference folder (`../shared` from the project root). */
export const SHARED = path.resolve(ROOT, '..', 'shared');
/** `../shared/captures`. */
export const CAPTURES = path.join(SHARED, 'captures');
/** bin/vboxvirt.js: the daemon's command line. */
export const VBOXVIRT_BIN = path.join(ROOT, 'bin', 'vboxvirt.js');
/** bin/vboxsim.js: the simulated VBoxManage. */
export const VBOXSIM_BIN = path.join(ROOT, 'bin', 'vboxsim.js');
/** The Debian python with python3-libvirt and python3-pexpect (not the pyenv one on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
