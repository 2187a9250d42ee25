/**
 * The simulated machine: its stored settings, VirtualBox 7.0 defaults, lazy state
 * transitions (start, ACPI, stopping) and the `showvminfo --machinereadable` text.
 */
import * as crypto from 'node:crypto';
import type { SimSettings } from './settings.js';

export interface Nic {
  enabled: boolean;
  /** Attachment type kept even when disabled: null, nat, bridged, intnet, hostonly, generic, natnetwork. */
  attachment: string;
  type: string;
  mac: string;
  cable: boolean;
  bridge: string;
  hostonly: string;
  intnet: string;
  natnet: string;
  generic: string;
  bootPrio: number;
  speed: number;
}

export interface StorageController {
  name: string;
  bus: 'ide' | 'sata' | 'scsi' | 'sas' | 'floppy' | 'usb' | 'pcie' | 'virtio';
  type: string;
  instance: number;
  portCount: number;
  maxPortCount: number;
  bootable: boolean;
}

export interface Attachment {
  controller: string;
  port: number;
  device: number;
  kind: 'hdd' | 'dvd' | 'fdd';
  /** Medium UUID; absent for an empty drive. */
  medium?: string;
  path?: string;
  hotpluggable: boolean;
  nonrotational: boolean;
  discard: boolean;
  tempeject: boolean;
  passthrough: boolean;
}

export interface Machine {
  uuid: string;
  name: string;
  groups: string[];
  ostype: string;
  cfgFile: string;
  memory: number;
  vram: number;
  cpus: number;
  firmware: string;
  chipset: string;
  boot: string[];
  description: string;
  autostartEnabled: boolean;
  autostartDelay: number;
  graphicscontroller: string;
  defaultFrontend: string;
  nics: Nic[];
  storageControllers: StorageController[];
  attachments: Attachment[];
  audio: string;
  audioOut: boolean;
  audioIn: boolean;
  usb: boolean;
  ehci: boolean;
  xhci: boolean;
  hidpointing: string;
  pae: boolean;
  longmode: boolean;
  x2apic: boolean;
  ioapic: boolean;
  /** Stored machine state (short name as in VMState). */
  state: string;
  /** ms since epoch of the last state change. */
  stateChangeTime: number;
  /** Saved-state file path (saved / aborted-saved). */
  stateFile?: string;
  /** Session name while running (`headless`, `GUI/Qt`…). */
  sessionName?: string;
  /** Pending transition: when a `starting`/`restoring` VM reaches `running`. */
  runningAt?: number;
  /** Pending guest reaction to the ACPI power button: when it begins `stopping`. */
  acpiStopAt?: number;
  /** Pending end of `stopping`. */
  poweroffAt?: number;
  /** After a stop: the session stays locked until then. */
  unlockedAt?: number;
  /** Unlock window (ms) to apply when a pending stop completes. */
  unlockMs?: number;
  /** VM extra-data (`setextradata`). */
  extradata?: Record<string, string>;
  /** Guest properties: value, timestamp (ms; printed as ns), flags; TRANSIENT ones vanish at power-off. */
  guestprops?: Record<string, { value: string; timestamp: number; flags: string }>;
}

export const ONLINE_STATES = new Set([
  'running',
  'paused',
  'gurumeditation',
  'teleporting',
  'livesnapshotting',
  'starting',
  'stopping',
  'saving',
  'restoring',
  'teleportingpausedvm',
  'teleportingin',
  'deletingsnapshotlive',
  'deletingsnapshotlivepaused',
  'onlinesnapshotting',
]);

/** States `list runningvms` shows. */
export const RUNNINGVMS_STATES = new Set(['running', 'paused', 'teleporting', 'livesnapshotting', 'teleportingpausedvm']);

/** Short VMState → stringified API state used in error messages. */
export const API_STATE: Record<string, string> = {
  poweroff: 'PoweredOff',
  saved: 'Saved',
  teleported: 'Teleported',
  aborted: 'Aborted',
  'aborted-saved': 'Aborted-Saved',
  running: 'Running',
  paused: 'Paused',
  gurumeditation: 'GuruMeditation',
  teleporting: 'Teleporting',
  livesnapshotting: 'LiveSnapshotting',
  starting: 'Starting',
  stopping: 'Stopping',
  saving: 'Saving',
  restoring: 'Restoring',
  teleportingpausedvm: 'TeleportingPausedVM',
  teleportingin: 'TeleportingIn',
  deletingsnapshotlive: 'DeletingSnapshotOnline',
  deletingsnapshotlivepaused: 'DeletingSnapshotPaused',
  onlinesnapshotting: 'OnlineSnapshotting',
  restoringsnapshot: 'RestoringSnapshot',
  deletingsnapshot: 'DeletingSnapshot',
  settingup: 'SettingUp',
  snapshotting: 'Snapshotting',
};

/** Guest OS types: id → [description, 64-bit, recommended RAM MB, recommended VRAM MB, recommended NIC]. */
export const OS_TYPES: Record<string, [string, boolean, number, number, string]> = {
  Other: ['Other/Unknown', false, 64, 4, 'Am79C973'],
  Other_64: ['Other/Unknown (64-bit)', true, 512, 16, '82540EM'],
  Linux: ['Other Linux', false, 256, 16, 'Am79C973'],
  Linux26: ['Linux 2.6 / 3.x / 4.x / 5.x (32-bit)', false, 256, 16, 'Am79C973'],
  Linux26_64: ['Linux 2.6 / 3.x / 4.x / 5.x (64-bit)', true, 512, 16, '82540EM'],
  Linux_64: ['Other Linux (64-bit)', true, 512, 16, '82540EM'],
  ArchLinux_64: ['Arch Linux (64-bit)', true, 1024, 16, '82540EM'],
  Debian: ['Debian (32-bit)', false, 1024, 16, '82540EM'],
  Debian_64: ['Debian (64-bit)', true, 1024, 16, '82540EM'],
  Fedora_64: ['Fedora (64-bit)', true, 2048, 16, '82540EM'],
  OpenSUSE_64: ['openSUSE (64-bit)', true, 1024, 16, '82540EM'],
  Oracle_64: ['Oracle Linux (64-bit)', true, 2048, 16, '82540EM'],
  RedHat_64: ['Red Hat (64-bit)', true, 2048, 16, '82540EM'],
  Ubuntu: ['Ubuntu (32-bit)', false, 2048, 16, '82540EM'],
  Ubuntu_64: ['Ubuntu (64-bit)', true, 2048, 16, '82540EM'],
  FreeBSD_64: ['FreeBSD (64-bit)', true, 1024, 16, '82540EM'],
  WindowsXP: ['Windows XP (32-bit)', false, 192, 16, '82540EM'],
  Windows7_64: ['Windows 7 (64-bit)', true, 2048, 128, '82540EM'],
  Windows10_64: ['Windows 10 (64-bit)', true, 2048, 128, '82540EM'],
  Windows11_64: ['Windows 11 (64-bit)', true, 4096, 128, '82540EM'],
  Windows2019_64: ['Windows 2019 (64-bit)', true, 2048, 128, '82540EM'],
  Windows2022_64: ['Windows 2022 (64-bit)', true, 2048, 128, '82540EM'],
};

/** Case-insensitive OS type lookup, returning the canonical id. */
export function findOsType(id: string): string | undefined {
  const l = id.toLowerCase();
  return Object.keys(OS_TYPES).find((k) => k.toLowerCase() === l);
}

/** VirtualBox's sanitiseMachineFilename(): the folder/file name used for a machine name. */
export function sanitiseMachineFilename(name: string): string {
  const ok = (cp: number) =>
    cp === 0x20 || cp === 0x28 || cp === 0x29 || cp === 0x2d || cp === 0x2e || (cp >= 0x30 && cp <= 0x39) ||
    (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f || (cp >= 0xa0 && cp <= 0xd7af);
  const chars = [...name].map((c) => (ok(c.codePointAt(0)!) ? c : '_'));
  if (chars.length === 0) return '';
  if (chars[0] === '.' || chars[0] === '-') chars[0] = '_';
  if (chars[chars.length - 1] === '.') chars[chars.length - 1] = '_';
  for (let i = 0; i < chars.length && chars[i] === ' '; i++) chars[i] = '_';
  for (let i = chars.length - 1; i > 0 && chars[i] === ' '; i--) chars[i] = '_';
  return chars.join('');
}

export function randomMac(): string {
  return '080027' + crypto.randomBytes(3).toString('hex').toUpperCase();
}

export function newNic(type: string): Nic {
  return {
    enabled: false,
    attachment: 'null',
    type,
    mac: randomMac(),
    cable: true,
    bridge: '',
    hostonly: '',
    intnet: 'intnet',
    natnet: '',
    generic: '',
    bootPrio: 0,
    speed: 0,
  };
}

export function newMachine(opts: {
  uuid: string;
  name: string;
  ostype: string;
  cfgFile: string;
  groups: string[];
  defaults: boolean;
  now: number;
}): Machine {
  const os = OS_TYPES[opts.ostype] ?? OS_TYPES.Other!;
  const nicType = opts.ostype === 'Other' ? 'Am79C973' : os[4];
  const nics = Array.from({ length: 8 }, () => newNic(nicType));
  if (opts.ostype !== 'Other') {
    nics[0]!.enabled = true;
    nics[0]!.attachment = 'nat';
  }
  const m: Machine = {
    uuid: opts.uuid,
    name: opts.name,
    groups: opts.groups.length ? opts.groups : ['/'],
    ostype: opts.ostype,
    cfgFile: opts.cfgFile,
    memory: 128,
    vram: 8,
    cpus: 1,
    firmware: 'BIOS',
    chipset: 'piix3',
    boot: ['floppy', 'dvd', 'disk', 'none'],
    description: '',
    autostartEnabled: false,
    autostartDelay: 0,
    graphicscontroller: 'vboxvga',
    defaultFrontend: '',
    nics,
    storageControllers: [],
    attachments: [],
    audio: 'default',
    audioOut: false,
    audioIn: false,
    usb: false,
    ehci: false,
    xhci: false,
    hidpointing: 'ps2mouse',
    pae: !os[1] ? false : true,
    longmode: os[1],
    x2apic: os[1],
    ioapic: os[1],
    state: 'poweroff',
    stateChangeTime: opts.now,
  };
  if (opts.defaults) {
    m.memory = os[2];
    m.vram = os[3];
    m.graphicscontroller = 'vmsvga';
    m.ioapic = true;
    m.hidpointing = 'usbtablet';
    m.usb = true;
    m.ehci = true;
    m.audioOut = true;
    m.storageControllers.push(
      { name: 'IDE', bus: 'ide', type: 'PIIX4', instance: 0, portCount: 2, maxPortCount: 2, bootable: true },
      { name: 'SATA', bus: 'sata', type: 'IntelAhci', instance: 0, portCount: 1, maxPortCount: 30, bootable: true },
    );
    m.attachments.push(emptyDvd('IDE', 1, 0));
  }
  return m;
}

export function emptyDvd(controller: string, port: number, device: number): Attachment {
  return {
    controller,
    port,
    device,
    kind: 'dvd',
    hotpluggable: false,
    nonrotational: false,
    discard: false,
    tempeject: false,
    passthrough: false,
  };
}

/**
 * Apply the lazy transitions due by `now` (starting → running, guest ACPI reaction →
 * stopping → poweroff). Pure: returns true if `m` changed.
 */
export function settle(m: Machine, now: number): boolean {
  let changed = false;
  for (let guard = 0; guard < 8; guard++) {
    if ((m.state === 'starting' || m.state === 'restoring') && m.runningAt !== undefined && now >= m.runningAt) {
      m.state = 'running';
      m.stateChangeTime = m.runningAt;
      m.runningAt = undefined;
      changed = true;
      continue;
    }
    if (m.state === 'running' && m.acpiStopAt !== undefined && now >= m.acpiStopAt) {
      m.state = 'stopping';
      m.stateChangeTime = m.acpiStopAt;
      m.acpiStopAt = undefined;
      changed = true;
      continue;
    }
    if (m.state === 'stopping' && m.poweroffAt !== undefined && now >= m.poweroffAt) {
      m.state = 'poweroff';
      m.stateChangeTime = m.poweroffAt;
      dropTransient(m);
      if (m.unlockMs) m.unlockedAt = m.poweroffAt + m.unlockMs;
      m.unlockMs = undefined;
      m.poweroffAt = undefined;
      m.sessionName = undefined;
      changed = true;
      continue;
    }
    break;
  }
  return changed;
}

function dropTransient(m: Machine): void {
  if (!m.guestprops) return;
  for (const [k, p] of Object.entries(m.guestprops)) if (/TRANSIENT/i.test(p.flags)) delete m.guestprops[k];
}

/** Record an ACPI power-button press: the guest begins stopping after the configured delay. */
export function pressPowerButton(m: Machine, now: number, s: SimSettings): void {
  if (s.acpiIgnore) return;
  if (m.acpiStopAt !== undefined) return; // already shutting down
  m.acpiStopAt = now + s.acpiDelayMs;
  m.poweroffAt = m.acpiStopAt + s.stoppingMs;
}

export function setState(m: Machine, state: string, now: number): void {
  m.state = state;
  m.stateChangeTime = now;
  if (state !== 'running' && state !== 'paused') {
    m.acpiStopAt = undefined;
  }
  if (!ONLINE_STATES.has(state)) {
    dropTransient(m);
    m.sessionName = undefined;
    m.runningAt = undefined;
    m.poweroffAt = undefined;
  }
}

/** `2023-02-06T02:18:47.191000000`: UTC, ms + six zeros, no zone. */
export function vboxTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000');
}

/** Escape `"` and `\` as outputMachineReadableString does (7.x). */
export function mrEscape(s: string): string {
  return s.replace(/[\\"]/g, (c) => '\\' + c);
}

function mrString(key: string, value: string, quoteKey = false): string {
  const q = quoteKey || key.includes('=');
  const k = mrEscape(key);
  return `${q ? `"${k}"` : k}="${mrEscape(value)}"\n`;
}

const onoff = (b: boolean) => (b ? 'on' : 'off');

/** The settings file's base name (`<folder>/<base>.vbox`). */
function fileBase(m: Machine): string {
  const f = m.cfgFile.slice(m.cfgFile.lastIndexOf('/') + 1);
  return f.endsWith('.vbox') ? f.slice(0, -5) : f;
}

export function machineFolder(m: Machine): string {
  const i = m.cfgFile.lastIndexOf('/');
  return i >= 0 ? m.cfgFile.slice(0, i) : '.';
}

export function osDescription(id: string): string {
  return OS_TYPES[id]?.[0] ?? id;
}

/** `showvminfo --machinereadable` as VBoxManage 7.0.18 (Linux, distro-style build) prints it. */
export function machineReadable(m: Machine): string {
  const dir = machineFolder(m);
  const running = m.state === 'running' || m.state === 'paused' || m.state === 'stopping' || m.state === 'starting' || m.state === 'restoring' || m.state === 'saving';
  let o = '';
  const S = (k: string, v: string) => (o += mrString(k, v));
  const N = (k: string, v: number) => (o += `${k}=${v}\n`);
  S('name', m.name);
  S('encryption', 'disabled');
  S('groups', m.groups.join(','));
  S('ostype', osDescription(m.ostype));
  S('UUID', m.uuid);
  S('CfgFile', m.cfgFile);
  S('SnapFldr', `${dir}/Snapshots`);
  S('LogFldr', `${dir}/Logs`);
  S('hardwareuuid', m.uuid);
  N('memory', m.memory);
  S('pagefusion', 'off');
  N('vram', m.vram);
  N('cpuexecutioncap', 100);
  S('hpet', 'off');
  S('cpu-profile', 'host');
  S('chipset', m.chipset);
  S('firmware', m.firmware);
  N('cpus', m.cpus);
  S('pae', onoff(m.pae));
  S('longmode', onoff(m.longmode));
  S('triplefaultreset', 'off');
  S('apic', 'on');
  S('x2apic', onoff(m.x2apic));
  S('nested-hw-virt', 'off');
  N('cpuid-portability-level', 0);
  S('bootmenu', 'messageandmenu');
  m.boot.forEach((b, i) => S(`boot${i + 1}`, b));
  S('acpi', 'on');
  S('ioapic', onoff(m.ioapic));
  S('biosapic', 'apic');
  N('biossystemtimeoffset', 0);
  if (m.firmware !== 'BIOS') S('NvramFile', `${dir}/${fileBase(m)}.nvram`);
  S('rtcuseutc', 'off');
  S('hwvirtex', 'on');
  S('nestedpaging', 'on');
  S('largepages', 'off');
  S('vtxvpid', 'on');
  S('vtxux', 'on');
  S('virtvmsavevmload', 'on');
  S('iommu', 'none');
  S('paravirtprovider', 'default');
  S('effparavirtprovider', 'kvm');
  o += `VMState="${m.state}"\n`;
  o += `VMStateChangeTime="${vboxTime(m.stateChangeTime)}"\n`;
  if (m.stateFile) o += `VMStateFile="${m.stateFile}"\n`;
  S('graphicscontroller', m.graphicscontroller);
  N('monitorcount', 1);
  S('accelerate3d', 'off');
  S('accelerate2dvideo', 'off');
  S('teleporterenabled', 'off');
  N('teleporterport', 0);
  S('teleporteraddress', '');
  S('teleporterpassword', '');
  S('tracing-enabled', 'off');
  S('tracing-allow-vm-access', 'off');
  S('tracing-config', '');
  S('autostart-enabled', onoff(m.autostartEnabled));
  N('autostart-delay', m.autostartDelay);
  S('defaultfrontend', m.defaultFrontend);
  S('vmprocpriority', 'default');
  m.storageControllers.forEach((c, i) => {
    S(`storagecontrollername${i}`, c.name);
    S(`storagecontrollertype${i}`, c.type);
    S(`storagecontrollerinstance${i}`, String(c.instance));
    S(`storagecontrollermaxportcount${i}`, String(c.maxPortCount));
    S(`storagecontrollerportcount${i}`, String(c.portCount));
    S(`storagecontrollerbootable${i}`, onoff(c.bootable));
  });
  for (const c of m.storageControllers) {
    const devices = c.bus === 'ide' || c.bus === 'floppy' ? 2 : 1;
    for (let p = 0; p < c.portCount; p++) {
      for (let d = 0; d < devices; d++) {
        const a = m.attachments.find((x) => x.controller === c.name && x.port === p && x.device === d);
        const key = `${c.name}-${p}-${d}`;
        const pk = (what: string) => `${c.name}-${what}-${p}-${d}`;
        if (!a) {
          o += mrString(key, 'none', true);
        } else if (a.medium) {
          o += mrString(key, a.path ?? '', true);
          o += mrString(pk('ImageUUID'), a.medium, true);
          if (a.kind === 'dvd' && a.passthrough) o += mrString(pk('dvdpassthrough'), 'on', true);
          if (a.kind === 'dvd') {
            o += mrString(pk('tempeject'), onoff(a.tempeject), true);
            o += mrString(pk('IsEjected'), 'off', true);
          }
          if (/^(sata|usb)$/i.test(c.bus) || /^(sata|usb)$/i.test(c.name)) o += mrString(pk('hot-pluggable'), onoff(a.hotpluggable), true);
          o += mrString(pk('nonrotational'), onoff(a.nonrotational), true);
          o += mrString(pk('discard'), onoff(a.discard), true);
        } else {
          o += mrString(key, 'emptydrive', true);
          if (a.kind === 'dvd') o += mrString(pk('IsEjected'), 'off', true);
        }
      }
    }
  }
  m.nics.forEach((n, i) => {
    const s = i + 1;
    if (!n.enabled) {
      o += `nic${s}="none"\n`;
      return;
    }
    let att = n.attachment;
    switch (n.attachment) {
      case 'nat':
        o += `natnet${s}="${n.natnet || 'nat'}"\n`;
        break;
      case 'bridged':
        o += `bridgeadapter${s}="${n.bridge}"\n`;
        break;
      case 'intnet':
        o += `intnet${s}="${n.intnet}"\n`;
        break;
      case 'hostonly':
        o += `hostonlyadapter${s}="${n.hostonly}"\n`;
        break;
      case 'generic':
        o += `generic${s}="${n.generic}"\n`;
        att = 'Generic';
        break;
      case 'natnetwork':
        o += `nat-network${s}="${n.natnet}"\n`;
        break;
      default:
        break;
    }
    o += `macaddress${s}="${n.mac}"\n`;
    o += `cableconnected${s}="${onoff(n.cable)}"\n`;
    o += `nic${s}="${att}"\n`;
    o += `nictype${s}="${n.type}"\n`;
    o += `nicspeed${s}="${n.speed}"\n`;
    if (n.attachment === 'nat') {
      o += 'mtu="0"\nsockSnd="64"\nsockRcv="64"\ntcpWndSnd="64"\ntcpWndRcv="64"\n';
    }
  });
  S('hidpointing', m.hidpointing);
  S('hidkeyboard', 'ps2kbd');
  for (let i = 1; i <= 4; i++) S(`uart${i}`, 'off');
  S('lpt1', 'off');
  S('lpt2', 'off');
  S('audio', m.audio);
  S('audio_out', onoff(m.audioOut));
  S('audio_in', onoff(m.audioIn));
  S('clipboard', 'disabled');
  S('draganddrop', 'disabled');
  if (running && m.sessionName) S('SessionName', m.sessionName);
  if (m.state === 'running' || m.state === 'paused') o += 'VideoMode="720,400,0"@0,0 1\n';
  S('vrde', 'off');
  S('usb', onoff(m.usb));
  S('ehci', onoff(m.ehci));
  S('xhci', onoff(m.xhci));
  if (m.state === 'running' || m.state === 'paused') {
    S('VRDEActiveConnection', 'off');
    o += 'VRDEClients==0\n';
  }
  S('recording_enabled', 'off');
  N('recording_screens', 1);
  o += ' rec_screen0\n';
  S('rec_screen_enabled', 'on');
  N('rec_screen_id', 0);
  S('rec_screen_video_enabled', 'on');
  S('rec_screen_dest', 'File');
  S('rec_screen_dest_filename', `${dir}/${fileBase(m)}-screen0.webm`);
  S('rec_screen_opts', 'vc_enabled=true,ac_enabled=false,ac_profile=med');
  S('rec_screen_video_res_xy', '1024x768');
  N('rec_screen_video_rate_kbps', 512);
  N('rec_screen_video_fps', 25);
  if (m.description) S('description', m.description);
  N('GuestMemoryBalloon', 0);
  if (m.state === 'running' || m.state === 'paused') {
    S('GuestOSType', 'Other');
    N('GuestAdditionsRunLevel', 0);
  }
  return o;
}

const HUMAN_STATE: Record<string, string> = {
  poweroff: 'powered off',
  saved: 'saved',
  aborted: 'aborted',
  'aborted-saved': 'aborted-saved',
  running: 'running',
  paused: 'paused',
  starting: 'starting',
  stopping: 'stopping',
  saving: 'saving',
  restoring: 'restoring',
  gurumeditation: 'guru meditation',
};

/** Minimal human-readable `showvminfo` (28-column labels). */
export function humanReadable(m: Machine): string {
  const L = (label: string, v: string | number) => `${label.padEnd(28)} ${v}\n`.replace(/ +\n$/, '\n');
  const dir = machineFolder(m);
  let o = '';
  o += L('Name:', m.name);
  o += L('Encryption:', 'disabled');
  o += L('Groups:', m.groups.join(','));
  o += L('Guest OS:', osDescription(m.ostype));
  o += L('UUID:', m.uuid);
  o += L('Config file:', m.cfgFile);
  o += L('Snapshot folder:', `${dir}/Snapshots`);
  o += L('Log folder:', `${dir}/Logs`);
  o += L('Hardware UUID:', m.uuid);
  o += L('Memory size:', `${m.memory}MB`);
  o += L('VRAM size:', `${m.vram}MB`);
  o += L('Chipset:', m.chipset);
  o += L('Firmware:', m.firmware);
  o += L('Number of CPUs:', m.cpus);
  const bootName: Record<string, string> = { none: 'Not Assigned', floppy: 'Floppy', dvd: 'DVD', disk: 'HardDisk', net: 'Network' };
  m.boot.forEach((b, i) => (o += L(`Boot Device ${i + 1}:`, bootName[b] ?? b)));
  o += L('State:', `${HUMAN_STATE[m.state] ?? m.state} (since ${vboxTime(m.stateChangeTime)})`);
  o += L('Autostart Enabled:', m.autostartEnabled ? 'enabled' : 'disabled');
  o += L('Autostart Delay:', m.autostartDelay);
  m.nics.forEach((n, i) => {
    if (!n.enabled) {
      o += L(`NIC ${i + 1}:`, 'disabled');
      return;
    }
    const att: Record<string, string> = {
      nat: 'NAT',
      bridged: `Bridged Interface '${n.bridge}'`,
      intnet: `Internal Network '${n.intnet}'`,
      hostonly: `Host-only Interface '${n.hostonly}'`,
      natnetwork: `NAT Network '${n.natnet}'`,
      generic: `Generic '${n.generic}'`,
      null: 'none',
    };
    o += L(
      `NIC ${i + 1}:`,
      `MAC: ${n.mac}, Attachment: ${att[n.attachment] ?? n.attachment}, Cable connected: ${onoff(n.cable)}, Trace: off (file: none), Type: ${n.type}, Reported speed: 0 Mbps, Boot priority: ${n.bootPrio}, Promisc Policy: deny, Bandwidth group: none`,
    );
  });
  if (m.description) o += `Description:\n${m.description}\n`;
  return o;
}
