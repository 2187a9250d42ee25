/**
 * Parsers for VBoxManage output (no I/O): `list vms` / `list runningvms`,
 * `showvminfo --machinereadable`, `--version`, `list hostinfo`, `createvm`
 * and the error block on stderr (spec/vboxmanage.md §1.4, §2, §3).
 *
 * Every parser accepts CRLF (Windows) and LF, and survives the irregular lines
 * real VBoxManage builds print (see the comments on each quirk).
 */
import {
  VBoxError,
  type DhcpServerInfo,
  type HostIfInfo,
  type MediumInfo,
  type NatNetworkInfo,
  type SystemProperties,
  type NicAttachment,
  type NicInfo,
  type StorageAttachmentInfo,
  type StorageControllerInfo,
  type VBoxErrorKind,
  type VBoxMachineState,
  type VmInfo,
} from './types.js';

/** What a Runner returns for one invocation. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** One line of `list vms` / `list runningvms`. */
export interface ListEntry {
  uuid: string;
  name: string;
  accessible: boolean;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Lowercase a UUID, accepting optional braces; throws invalid-argument otherwise. */
export function normalizeUuid(s: string): string {
  const t = typeof s === 'string' ? s.trim().replace(/^\{(.*)\}$/, '$1') : '';
  if (!isUuid(t)) throw new VBoxError('invalid-argument', `not a VirtualBox UUID: ${JSON.stringify(String(s)).slice(0, 80)}`);
  return t.toLowerCase();
}

/** Split text into lines, accepting CRLF, dropping one trailing empty line. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/\r\n/g, '\n').replace(/\r$/, '').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Drop the Linux wrapper's `WARNING:` block that VBox.sh prints on stdout
 * *before* the real output (spec §1.2): `WARNING:` lines, their indented
 * continuation lines and blank lines, only at the very start of stdout.
 */
export function stripWrapperWarnings(stdout: string): string {
  if (!stdout.startsWith('WARNING:')) return stdout;
  const lines = stdout.split('\n');
  let i = 0;
  while (i < lines.length) {
    const l = lines[i].replace(/\r$/, '');
    if (l.startsWith('WARNING:') || l === '' || /^\s/.test(l)) i++;
    else break;
  }
  return lines.slice(i).join('\n');
}

const INACCESSIBLE = '<inaccessible>';
const LIST_LINE_RE = /^"([\s\S]*)" \{([0-9a-fA-F-]{36})\}$/;
/** Longest name (with embedded newlines) we keep joining lines for. */
const MAX_NAME_SPAN = 4096;

/**
 * `list vms` / `list runningvms`: `"<name>" {<uuid>}` per line, the name raw
 * (no escaping at all, spec §2.1), so the UUID is taken from the LAST `{…}`
 * and the name is everything between the first `"` and the `" {` before it.
 * A name containing a newline spans physical lines: a line starting with `"`
 * that does not end in `{uuid}` is joined with the next one. `strict`
 * (used by the host) rejects output with unrecognised lines (garbage, a
 * truncated last line) instead of silently dropping VMs.
 */
export function parseListVms(stdout: string, opts: { strict?: boolean } = {}): ListEntry[] {
  const out: ListEntry[] = [];
  let pending: string | null = null;
  const bad = (line: string) => {
    if (opts.strict) {
      throw new VBoxError('failed', `unrecognised line in VBoxManage list output: ${JSON.stringify(line.slice(0, 80))}`);
    }
  };
  for (const raw of splitLines(stripWrapperWarnings(stdout))) {
    const line: string = pending !== null ? pending + '\n' + raw : raw;
    const m = LIST_LINE_RE.exec(line);
    if (m) {
      pending = null;
      const name = m[1];
      out.push({ uuid: m[2].toLowerCase(), name, accessible: name !== INACCESSIBLE });
      continue;
    }
    if (line.startsWith('"') && line.length <= MAX_NAME_SPAN) pending = line; // name with an embedded newline
    else if (line.startsWith('"')) {
      pending = null; // not a plausible name: stop joining (keeps garbage linear)
      bad(line);
    } else {
      pending = null; // noise (warnings, blank lines)
      if (line.trim() !== '') bad(line);
    }
  }
  if (pending !== null) bad(pending);
  return out;
}

/** `VBoxManage --version`: `7.0.18r162988`, `6.1.34_Ubuntur150636`. */
export interface VBoxVersion {
  full: string;
  major: number;
  minor: number;
  patch: number;
  /** Distro suffix such as `_Ubuntu`, if any. */
  suffix: string;
  revision?: number;
}

export function parseVersion(stdout: string): VBoxVersion {
  const lines = splitLines(stripWrapperWarnings(stdout)).map((l) => l.trim()).filter((l) => l && !l.startsWith('WARNING:'));
  const full = lines[lines.length - 1] ?? '';
  const m = /^(\d+)\.(\d+)\.(\d+)([^r\s]*)(?:r(\d+))?/.exec(full);
  if (!m) throw new VBoxError('failed', `unrecognised VBoxManage --version output: ${JSON.stringify(full.slice(0, 80))}`);
  return {
    full,
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    suffix: m[4],
    revision: m[5] !== undefined ? Number(m[5]) : undefined,
  };
}

// ---------------------------------------------------------------------------
// showvminfo --machinereadable

const CPUID_RE = /^([0-9a-fA-F]{8}(?:,[0-9a-fA-F]{8}){5})/;

/** Raw key/value pairs of `showvminfo --machinereadable`, plus the lines that were not key=value. */
export interface MachineReadable {
  values: Record<string, string>;
  /** Lines without `=` (` rec_screen0`, `Encryption:     disabled`, wrapper noise). */
  irregular: string[];
}

/** Read a quoted token starting at text[i] === '"' (up to `limit`). Returns [value, indexAfterClosingQuote] or null. */
function readQuoted(text: string, i: number, closeWhen: (next: string | undefined) => boolean, limit = text.length): [string, number] | null {
  let out = '';
  let j = i + 1;
  while (j < limit) {
    const c = text[j];
    if (c === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) {
      out += text[j + 1];
      j += 2;
      continue;
    }
    if (c === '"' && closeWhen(text[j + 1])) return [out, j + 1];
    out += c;
    j++;
  }
  return null;
}

/**
 * Tokenise machine-readable output. Handles (spec §3.1): quoted keys
 * (`"SATA-0-0"=`), `\"`/`\\` escapes accepted but not required (raw fields),
 * values spanning lines (descriptions), lines without `=`, `cpuid=` running
 * into the next key, `VRDEClients==0`, `VideoMode="…"@0,0 1`, keys with
 * spaces (`BIOS NVRAM File=`), CRLF, a leading wrapper warning block.
 */
export function parseMachineReadable(stdout: string): MachineReadable {
  const text = stripWrapperWarnings(stdout).replace(/\r\n/g, '\n');
  const values: Record<string, string> = {};
  const irregular: string[] = [];
  const set = (k: string, v: string) => {
    if (k === 'cpuid' && values[k] !== undefined) values[k] += '\n' + v; // several overrides
    else values[k] = v;
  };
  let i = 0;
  // Once a quoted value ran to the end of the text unterminated, later values
  // are read within their line only (keeps garbage input linear).
  let multiLineOk = true;
  while (i < text.length) {
    const eol = text.indexOf('\n', i);
    const lineEnd = eol === -1 ? text.length : eol;
    let key: string;
    let j: number; // index just after '='
    if (text[i] === '"') {
      // quoted key: read to the unescaped quote followed by '=', within the line
      const q = readQuoted(text, i, (n) => n === '=', lineEnd);
      if (!q || q[1] > lineEnd) {
        irregular.push(text.slice(i, lineEnd));
        i = lineEnd + 1;
        continue;
      }
      key = q[0];
      j = q[1] + 1;
    } else {
      const rel = text.slice(i, lineEnd).indexOf('=');
      const eq = rel === -1 ? -1 : i + rel;
      if (eq === -1) {
        const line = text.slice(i, lineEnd);
        if (line !== '') irregular.push(line);
        // 7.0.0–7.0.14 print `Encryption:     disabled` as a human line
        const enc = /^Encryption:\s+(\S.*)$/.exec(line);
        if (enc && values.encryption === undefined) values.encryption = enc[1].trim();
        i = lineEnd + 1;
        continue;
      }
      key = text.slice(i, eq);
      j = eq + 1;
    }
    // `VRDEClients==0` (6.x/7.x print the key with its own '=')
    if (text[j] === '=' && key === 'VRDEClients') j++;
    if (key === 'cpuid') {
      // printed without a trailing newline: the next key follows directly
      const m = CPUID_RE.exec(text.slice(j, lineEnd));
      if (m) {
        set(key, m[1].toLowerCase());
        const next = j + m[1].length;
        i = next === lineEnd ? lineEnd + 1 : next;
        continue;
      }
    }
    if (text[j] === '"') {
      // A quoted value ends at an unescaped quote followed by end of line /
      // end of text, or by '@' (VideoMode="640,480,32"@0,0 1).
      const q = readQuoted(text, j, (n) => n === undefined || n === '\n' || n === '@', multiLineOk ? text.length : lineEnd);
      if (!q && multiLineOk) multiLineOk = false;
      if (q) {
        const [val, after] = q;
        const restEnd = text.indexOf('\n', after);
        const end = restEnd === -1 ? text.length : restEnd;
        const rest = text.slice(after, end);
        set(key, rest ? val + rest : val);
        i = end + 1;
        continue;
      }
      // unterminated: take the rest of the physical line, minus the quote
      set(key, text.slice(j + 1, lineEnd).replace(/"$/, ''));
      i = lineEnd + 1;
      continue;
    }
    set(key, text.slice(j, lineEnd));
    i = lineEnd + 1;
  }
  return { values, irregular };
}

const STATES: ReadonlySet<string> = new Set<VBoxMachineState>([
  'poweroff', 'saved', 'teleported', 'aborted', 'aborted-saved', 'running', 'paused', 'gurumeditation',
  'teleporting', 'livesnapshotting', 'starting', 'stopping', 'saving', 'restoring', 'teleportingpausedvm',
  'teleportingin', 'deletingsnapshotlive', 'deletingsnapshotlivepaused', 'onlinesnapshotting',
  'restoringsnapshot', 'deletingsnapshot', 'settingup', 'snapshotting', 'unknown',
]);

export function toMachineState(s: string | undefined): VBoxMachineState {
  const t = (s ?? '').trim().toLowerCase();
  return STATES.has(t) ? (t as VBoxMachineState) : 'unknown';
}

/** States in which a VM is listed by `list runningvms` (spec §2.1). */
export const LISTED_AS_RUNNING: ReadonlySet<VBoxMachineState> = new Set<VBoxMachineState>([
  'running', 'paused', 'teleporting', 'livesnapshotting', 'teleportingpausedvm',
]);

const ATTACHMENTS: Record<string, NicAttachment> = {
  none: 'none', null: 'null', nat: 'nat', bridged: 'bridged', intnet: 'intnet', hostonly: 'hostonly',
  generic: 'generic', natnetwork: 'natnetwork', cloudnetwork: 'cloudnetwork', hostonlynetwork: 'hostonlynetwork',
};

/** The showvminfo key holding the attachment target for each NIC type. */
const TARGET_KEY: Partial<Record<NicAttachment, string>> = {
  bridged: 'bridgeadapter',
  intnet: 'intnet',
  hostonly: 'hostonlyadapter',
  generic: 'generic',
  natnetwork: 'nat-network',
  cloudnetwork: 'cloud-network',
  hostonlynetwork: 'hostonly-network',
};

function num(v: string | undefined, dflt = 0): number {
  if (v === undefined) return dflt;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : dflt;
}

function onOff(v: string | undefined): boolean {
  return v === 'on' || v === 'true';
}

function parseNics(v: Record<string, string>): NicInfo[] {
  const nics: NicInfo[] = [];
  for (let slot = 1; slot <= 36; slot++) {
    const type = v[`nic${slot}`];
    if (type === undefined) {
      if (slot > 8) break;
      continue;
    }
    const attachment = ATTACHMENTS[type.toLowerCase()] ?? 'none';
    const nic: NicInfo = {
      slot,
      attachment,
      mac: (v[`macaddress${slot}`] ?? '').toUpperCase(),
      model: v[`nictype${slot}`] ?? '',
      cableConnected: onOff(v[`cableconnected${slot}`]),
    };
    const tk = TARGET_KEY[attachment];
    if (tk && v[`${tk}${slot}`] !== undefined) nic.target = v[`${tk}${slot}`];
    if (attachment === 'nat' && v[`natnet${slot}`] && v[`natnet${slot}`] !== 'nat') nic.target = v[`natnet${slot}`];
    nics.push(nic);
  }
  return nics;
}

function parseStorage(v: Record<string, string>): { controllers: StorageControllerInfo[]; storage: StorageAttachmentInfo[] } {
  const controllers: StorageControllerInfo[] = [];
  for (let i = 0; v[`storagecontrollername${i}`] !== undefined; i++) {
    controllers.push({
      index: i,
      name: v[`storagecontrollername${i}`],
      type: v[`storagecontrollertype${i}`] ?? '',
      instance: num(v[`storagecontrollerinstance${i}`]),
      portCount: num(v[`storagecontrollerportcount${i}`]),
      bootable: onOff(v[`storagecontrollerbootable${i}`]),
    });
  }
  const storage: StorageAttachmentInfo[] = [];
  // longest names first so "SATA Controller" wins over a controller named "SATA"
  const byLen = [...controllers].sort((a, b) => b.name.length - a.name.length);
  for (const [key, medium] of Object.entries(v)) {
    const ctl = byLen.find((c) => key.startsWith(c.name + '-') && /^\d+-\d+$/.test(key.slice(c.name.length + 1)));
    if (!ctl || medium === 'none') continue;
    const [port, device] = key.slice(ctl.name.length + 1).split('-').map(Number);
    const imageUuid = v[`${ctl.name}-ImageUUID-${port}-${device}`];
    let kind: StorageAttachmentInfo['kind'] = 'disk';
    if (ctl.type === 'I82078') kind = 'floppy';
    else if (
      medium === 'emptydrive' ||
      v[`${ctl.name}-IsEjected-${port}-${device}`] !== undefined ||
      v[`${ctl.name}-tempeject-${port}-${device}`] !== undefined ||
      /\.(iso|dmg|cdr)$/i.test(medium)
    ) kind = 'dvd';
    else if (/\.(img|ima|flp|vfd)$/i.test(medium) && ctl.type === 'I82078') kind = 'floppy';
    const att: StorageAttachmentInfo = { controller: ctl.name, port, device, medium, kind };
    if (imageUuid) att.imageUuid = imageUuid.toLowerCase();
    storage.push(att);
  }
  storage.sort((a, b) => {
    const ca = controllers.findIndex((c) => c.name === a.controller);
    const cb = controllers.findIndex((c) => c.name === b.controller);
    return ca - cb || a.port - b.port || a.device - b.device;
  });
  return { controllers, storage };
}

/**
 * `showvminfo <uuid> --machinereadable` → VmInfo. An inaccessible VM prints
 * only `name="<inaccessible>"` and `UUID=` (state `unknown`, raw.accessible="off").
 */
export function parseShowVmInfo(stdout: string): VmInfo {
  const { values: v } = parseMachineReadable(stdout);
  const uuidRaw = v.UUID ?? '';
  if (!isUuid(uuidRaw)) {
    throw new VBoxError('failed', 'showvminfo output has no UUID (empty or truncated output; check the locale, spec §1.6)');
  }
  const inaccessible = v.name === INACCESSIBLE && v.VMState === undefined;
  const boot: string[] = [];
  for (let n = 1; n <= 4; n++) boot.push(v[`boot${n}`] ?? 'none');
  const { controllers, storage } = parseStorage(v);
  const info: VmInfo = {
    uuid: uuidRaw.toLowerCase(),
    name: v.name ?? '',
    state: inaccessible ? 'unknown' : toMachineState(v.VMState),
    osType: v.ostype ?? '',
    memoryMB: num(v.memory),
    cpus: num(v.cpus, inaccessible ? 0 : 1),
    firmware: v.firmware ?? '',
    chipset: v.chipset ?? '',
    boot,
    description: v.description ?? '',
    groups: v.groups ? v.groups.split(',').filter((g) => g !== '') : [],
    autostart: onOff(v['autostart-enabled']),
    nics: parseNics(v),
    storageControllers: controllers,
    storage,
    raw: v,
  };
  if (inaccessible) v.accessible = 'off';
  if (v.VMStateChangeTime) info.stateChangeTime = v.VMStateChangeTime;
  if (v.VMStateFile) info.stateFile = v.VMStateFile;
  if (v.CfgFile) info.cfgFile = v.CfgFile;
  if (v.platformArchitecture) info.platformArchitecture = v.platformArchitecture;
  return info;
}

/** `createvm … --register` stdout → the new UUID (`UUID: <uuid>`). */
export function parseCreateVm(stdout: string): string {
  const m = /^UUID:\s*([0-9a-fA-F-]{36})\s*$/m.exec(stripWrapperWarnings(stdout).replace(/\r/g, ''));
  if (!m || !isUuid(m[1])) throw new VBoxError('failed', 'createvm did not print the new UUID');
  return m[1].toLowerCase();
}

/** `list hostinfo` (the parts we use). Labels are English in every version we know. */
export interface HostInfoFacts {
  cpuCount?: number;
  cpuMhz?: number;
  cpuModel?: string;
  memoryKiB?: number;
  os?: string;
}

export function parseHostInfo(stdout: string): HostInfoFacts {
  const out: HostInfoFacts = {};
  for (const line of splitLines(stripWrapperWarnings(stdout))) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [k, val] = [m[1].trim(), m[2].trim()];
    if (k === 'Processor online count' || (k === 'Processor count' && out.cpuCount === undefined)) out.cpuCount = parseInt(val, 10);
    else if ((k === 'Processor speed' || k === 'Processor#0 speed') && out.cpuMhz === undefined) out.cpuMhz = parseInt(val, 10);
    else if ((k === 'Processor description' || k === 'Processor#0 description') && out.cpuModel === undefined) out.cpuModel = val;
    else if (k === 'Memory size') {
      const n = parseInt(val, 10);
      if (Number.isFinite(n)) out.memoryKiB = /GByte/i.test(val) ? n * 1024 * 1024 : n * 1024;
    } else if (k === 'Operating system') out.os = val;
  }
  return out;
}

// ---------------------------------------------------------------------------
// errors

const ERR_PREFIX_RE = /^VBoxManage(?:\.exe)?: error: ?(.*)$/;

/** The parsed COM error block (spec §1.4). */
export interface ErrorBlock {
  /** Message lines (without Details/Context). */
  message: string;
  /** `Details: code SYMBOL` */
  code?: string;
  /** 0x… as printed in Details. */
  hresult?: string;
  component?: string;
  iface?: string;
  /** The Context expression (not translated: safe to match on). */
  context?: string;
}

export function parseErrorBlock(stderr: string): ErrorBlock | null {
  const msg: string[] = [];
  let found = false;
  const block: ErrorBlock = { message: '' };
  for (const line of splitLines(stderr)) {
    const m = ERR_PREFIX_RE.exec(line);
    if (!m) continue;
    found = true;
    const body = m[1];
    const d = /^Details: code (\w+) \((0x[0-9a-fA-F]+)\)(?:, component (\w+))?(?:, interface (\w+))?/.exec(body);
    if (d) {
      block.code = d[1];
      block.hresult = d[2].toLowerCase();
      if (d[3]) block.component = d[3];
      if (d[4]) block.iface = d[4];
      continue;
    }
    const c = /^Context: "(.*)" at line \d+ of file \S+/.exec(body);
    if (c) {
      block.context = c[1];
      continue;
    }
    msg.push(body);
  }
  if (!found) return null;
  block.message = msg.join('\n').trim();
  return block;
}

function kindFromBlock(b: ErrorBlock, exitCode: number): VBoxErrorKind {
  switch (b.code) {
    case 'VBOX_E_OBJECT_NOT_FOUND':
      // FindMachine / OpenMedium / Find*Network failures are "no such object";
      // the same code from other calls (unknown OS type on createvm) is a bad argument.
      if (!b.context || /FindMachine|findMachine|OpenMedium|Find\w*(Network|Server|Interface)/.test(b.context)) return 'not-found';
      return 'invalid-argument';
    case 'VBOX_E_FILE_ERROR':
      // a medium file that does not exist (the IPRT status symbol is not translated)
      if (/VERR_FILE_NOT_FOUND|VERR_PATH_NOT_FOUND/.test(b.message)) return 'not-found';
      return 'failed';
    case 'VBOX_E_OBJECT_IN_USE':
      return 'invalid-state';
    case 'VBOX_E_INVALID_VM_STATE':
      return 'invalid-state';
    case 'VBOX_E_INVALID_OBJECT_STATE':
      return 'locked';
    case 'E_ACCESSDENIED':
      // transient: "unexpected process … LaunchVMProcess", "The object is not
      // ready" (session machine being torn down), "functionality is limited"
      return 'locked';
    case 'E_INVALIDARG':
    case 'NS_ERROR_INVALID_ARG':
      return 'invalid-argument';
    case 'NS_ERROR_FACTORY_NOT_REGISTERED':
    case 'NS_ERROR_ABORT':
    case 'RPC_E_DISCONNECTED':
    case 'CO_E_SERVER_EXEC_FAILURE':
      return 'unavailable';
    case undefined:
      break;
    default:
      return 'failed';
  }
  // no Details line: a plain VBoxManage error
  if (/is not currently running/.test(b.message)) return 'not-running';
  if (/Failed to create the VirtualBox object|COM server is not running|Failed to initialize COM/.test(b.message)) return 'unavailable';
  if (/NS_ERROR_FACTORY_NOT_REGISTERED/.test(b.message)) return 'unavailable';
  if (exitCode === 2) return 'invalid-argument';
  return 'failed';
}

/**
 * Classify one invocation (spec §1.3/§1.4): failure = exit code ≠ 0 OR stderr
 * has a `VBoxManage(.exe)?: error:` line (some paths print an error and exit 0).
 * The kind comes from the `Details: code SYMBOL`, never from the localised
 * text, except for the single-line `is not currently running` error, which has
 * no code. Returns null on success.
 */
export function classifyResult(result: RunResult, argv?: readonly string[]): VBoxError | null {
  const block = parseErrorBlock(result.stderr);
  if (!block && result.exitCode === 0) return null;
  if (!block) {
    const tail = splitLines(result.stderr).filter((l) => l.trim() !== '' && !/^[\d.%]+$/.test(l.trim())).slice(-3).join(' | ');
    let kind: VBoxErrorKind = 'failed';
    if (result.exitCode === 2) kind = 'invalid-argument';
    else if (result.exitCode === 126 || result.exitCode === 127) kind = 'unavailable';
    if (/Syntax error/.test(result.stderr)) kind = 'invalid-argument';
    return new VBoxError(kind, `VBoxManage exited with code ${result.exitCode}${tail ? `: ${tail}` : ''}`, undefined, argv);
  }
  const kind = kindFromBlock(block, result.exitCode);
  const message = (block.message || `VBoxManage failed with exit code ${result.exitCode}`).split('\n')[0];
  return new VBoxError(kind, message, block.code, argv);
}

/** true for errors worth retrying after a short wait (session-lock collisions). */
export function isRetryableLock(err: unknown): boolean {
  return err instanceof VBoxError && err.kind === 'locked';
}

// ---------------------------------------------------------------------------
// storage and network listings (human `Label:   value` blocks)

/**
 * Split `Label: value` output into blocks separated by blank lines. The label
 * ends at the first `:`; lines starting with whitespace continue the previous
 * label (multi-line values such as `In use by VMs:`), collected in `more`.
 */
export function parseLabelBlocks(stdout: string): Array<{ fields: Record<string, string>; more: Record<string, string[]> }> {
  const blocks: Array<{ fields: Record<string, string>; more: Record<string, string[]> }> = [];
  let cur: { fields: Record<string, string>; more: Record<string, string[]> } | null = null;
  let last: string | null = null;
  for (const line of splitLines(stripWrapperWarnings(stdout))) {
    if (line.trim() === '') {
      cur = null;
      last = null;
      continue;
    }
    if (/^\s/.test(line) && cur && last) {
      (cur.more[last] ??= []).push(line.trim());
      continue;
    }
    const m = /^([^:]+):[ \t]?(.*)$/.exec(line);
    if (!m) continue;
    if (!cur) {
      cur = { fields: {}, more: {} };
      blocks.push(cur);
    }
    const key = m[1].trim();
    last = key;
    if (cur.fields[key] === undefined) cur.fields[key] = m[2].trim();
    else (cur.more[key] ??= []).push(m[2].trim());
  }
  return blocks;
}

function mbToBytes(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(MBytes|GBytes|KBytes|Bytes|MB|GB)?/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'MBytes').toLowerCase();
  const mult = unit.startsWith('g') ? 1024 ** 3 : unit.startsWith('k') ? 1024 : unit === 'bytes' ? 1 : 1024 ** 2;
  return Math.round(n * mult);
}

function mediumFrom(fields: Record<string, string>, more: Record<string, string[]>): MediumInfo | null {
  const uuid = fields.UUID;
  if (!uuid || !isUuid(uuid)) return null;
  const info: MediumInfo = { uuid: uuid.toLowerCase(), path: fields.Location ?? '' };
  if (fields['Storage format']) info.format = fields['Storage format'];
  const cap = mbToBytes(fields.Capacity);
  if (cap !== undefined) info.capacityBytes = cap;
  const size = mbToBytes(fields['Size on disk']);
  if (size !== undefined) info.sizeOnDiskBytes = size;
  if (fields.State) info.state = fields.State;
  if (fields.Type) info.type = fields.Type;
  if (fields['Format variant']) info.variant = fields['Format variant'];
  const parent = fields['Parent UUID'];
  if (parent && isUuid(parent)) info.parentUuid = parent.toLowerCase();
  if (fields['Access Error']) info.accessError = fields['Access Error'];
  const users = fields['In use by VMs'] !== undefined ? [fields['In use by VMs'], ...(more['In use by VMs'] ?? [])] : [];
  if (users.length) {
    info.inUseBy = [];
    info.inUseByNames = [];
    for (const u of users) {
      const m = /^(.*?) \(UUID: ([0-9a-fA-F-]{36})\)/.exec(u);
      if (!m) continue;
      info.inUseByNames.push(m[1]);
      info.inUseBy.push(m[2].toLowerCase());
    }
  } else info.inUseBy = [];
  return info;
}

/** `list hdds` (and dvds/floppies): one block per medium. */
export function parseMediumList(stdout: string): MediumInfo[] {
  return parseLabelBlocks(stdout)
    .map((b) => mediumFrom(b.fields, b.more))
    .filter((m): m is MediumInfo => m !== null);
}

/** `showmediuminfo <path|uuid>`. */
export function parseMediumInfo(stdout: string): MediumInfo {
  const [b] = parseLabelBlocks(stdout);
  const m = b ? mediumFrom(b.fields, b.more) : null;
  if (!m) throw new VBoxError('failed', 'showmediuminfo output has no medium UUID');
  return m;
}

/** `createmedium …` → `Medium created. UUID: <uuid>`. */
export function parseCreateMedium(stdout: string): string {
  const m = /UUID:\s*([0-9a-fA-F-]{36})/.exec(stripWrapperWarnings(stdout));
  if (!m || !isUuid(m[1])) throw new VBoxError('failed', 'createmedium did not print the new medium UUID');
  return m[1].toLowerCase();
}

const yes = (v: string | undefined): boolean | undefined =>
  v === undefined ? undefined : /^(yes|enabled|on|true)$/i.test(v.trim());

/** `list hostonlyifs` / `list bridgedifs`. */
export function parseHostIfs(stdout: string): HostIfInfo[] {
  const out: HostIfInfo[] = [];
  for (const { fields: f } of parseLabelBlocks(stdout)) {
    if (!f.Name) continue;
    const i: HostIfInfo = { name: f.Name };
    if (f.GUID) i.guid = f.GUID;
    if (f.DHCP !== undefined) i.dhcp = yes(f.DHCP);
    if (f.IPAddress) i.ipAddress = f.IPAddress;
    if (f.NetworkMask) i.networkMask = f.NetworkMask;
    if (f.IPV6Address) i.ipv6Address = f.IPV6Address;
    if (f.IPV6NetworkMaskPrefixLength !== undefined && f.IPV6NetworkMaskPrefixLength !== '') i.ipv6PrefixLength = Number(f.IPV6NetworkMaskPrefixLength);
    if (f.HardwareAddress) i.mac = f.HardwareAddress;
    if (f.Status) i.status = f.Status;
    if (f.VBoxNetworkName) i.vboxNetworkName = f.VBoxNetworkName;
    out.push(i);
  }
  return out;
}

/** `list [--long] natnets`: 7.x (`Name:`, `Gateway:`, `DHCP Server:`) and 6.1 (`NetworkName:`, `IP:`, `DHCP Enabled:`) layouts. */
export function parseNatNets(stdout: string): NatNetworkInfo[] {
  const out: NatNetworkInfo[] = [];
  for (const { fields: f } of parseLabelBlocks(stdout)) {
    const name = f.Name ?? f.NetworkName;
    if (!name) continue;
    const n: NatNetworkInfo = { name };
    if (f.Network) n.network = f.Network;
    const gw = f.Gateway ?? f.IP;
    if (gw) n.gateway = gw;
    const dhcp = f['DHCP Server'] ?? f['DHCP Enabled'];
    if (dhcp !== undefined) n.dhcp = yes(dhcp);
    const v6 = f.IPv6 ?? f['IPv6 Enabled'];
    if (v6 !== undefined) n.ipv6 = yes(v6);
    if (f.Enabled !== undefined) n.enabled = yes(f.Enabled);
    out.push(n);
  }
  return out;
}

/** `list dhcpservers` (top-level labels of each server block). */
export function parseDhcpServers(stdout: string): DhcpServerInfo[] {
  const out: DhcpServerInfo[] = [];
  for (const { fields: f } of parseLabelBlocks(stdout)) {
    if (!f.NetworkName) continue;
    const d: DhcpServerInfo = { networkName: f.NetworkName };
    const ip = f['Dhcpd IP'] ?? f.IP;
    if (ip) d.ip = ip;
    if (f.NetworkMask) d.networkMask = f.NetworkMask;
    if (f.LowerIPAddress) d.lowerIp = f.LowerIPAddress;
    if (f.UpperIPAddress) d.upperIp = f.UpperIPAddress;
    if (f.Enabled !== undefined) d.enabled = yes(f.Enabled);
    out.push(d);
  }
  return out;
}

/** `list systemproperties`: every label (first occurrence wins) plus defaultMachineFolder / defaultHardDiskFormat. */
export function parseSystemProperties(stdout: string): SystemProperties {
  const out: SystemProperties = {};
  for (const line of splitLines(stripWrapperWarnings(stdout))) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const k = m[1].trim();
    if (out[k] === undefined) out[k] = m[2].trim();
  }
  if (out['Default machine folder'] !== undefined) out.defaultMachineFolder = out['Default machine folder'];
  if (out['Default hard disk format'] !== undefined) out.defaultHardDiskFormat = out['Default hard disk format'];
  return out;
}
