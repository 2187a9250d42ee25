/**
 * VBoxManage 7.0.18 error output, reproduced byte for byte.
 *
 * Every failure inside the simulator is a `SimFailure` carrying the exact stderr
 * text and exit code; commands throw it and `runVBoxManage` turns it into the
 * result. Formats: ../shared/spec/vboxmanage.md §1.4/§1.5; call-site line numbers:
 * ../shared/vbox-samples/data/vboxmanage-7.0.18-error-contexts.tsv (first line, GCC build).
 */

export const EXE = 'VBoxManage';
export const VERSION = '7.0.18';
export const REVISION = 162988;
export const LOGO =
  `Oracle VM VirtualBox Command Line Management Interface Version ${VERSION}\n` +
  'Copyright (C) 2005-2024 Oracle and/or its affiliates\n\n';

/** HRESULT symbols as an XPCOM (Linux) build prints them. */
export const HRESULTS = {
  NS_ERROR_FAILURE: 0x80004005,
  E_NOTIMPL: 0x80004001,
  NS_ERROR_INVALID_ARG: 0x80070057,
  E_ACCESSDENIED: 0x80070005,
  NS_ERROR_FACTORY_NOT_REGISTERED: 0x80040154,
  VBOX_E_OBJECT_NOT_FOUND: 0x80bb0001,
  VBOX_E_INVALID_VM_STATE: 0x80bb0002,
  VBOX_E_VM_ERROR: 0x80bb0003,
  VBOX_E_FILE_ERROR: 0x80bb0004,
  VBOX_E_IPRT_ERROR: 0x80bb0005,
  VBOX_E_PDM_ERROR: 0x80bb0006,
  VBOX_E_INVALID_OBJECT_STATE: 0x80bb0007,
  VBOX_E_HOST_ERROR: 0x80bb0008,
  VBOX_E_NOT_SUPPORTED: 0x80bb0009,
  VBOX_E_XML_ERROR: 0x80bb000a,
  VBOX_E_INVALID_SESSION_STATE: 0x80bb000b,
  VBOX_E_OBJECT_IN_USE: 0x80bb000c,
} as const;
export type HResultName = keyof typeof HRESULTS;

/** A CHECK_ERROR call site: the stringified C++ expression, its line and file. */
export interface CallSite {
  context: string;
  line: number;
  file: string;
}

/** A failure with its complete stderr text (and stdout printed before it). */
export class SimFailure extends Error {
  constructor(
    readonly stderr: string,
    readonly exitCode: number,
    message?: string,
  ) {
    super(message ?? stderr.split('\n')[0]);
    this.name = 'SimFailure';
  }
}

export function errorLines(text: string): string {
  return text
    .split('\n')
    .map((l) => `${EXE}: error: ${l}\n`)
    .join('');
}

export function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

export interface ComErrorSpec {
  message: string;
  code: HResultName;
  component: string;
  iface: string;
  /** Absent for progress-object errors (no callee, no Context line). */
  site?: CallSite;
}

/** The three-part COM error block of glue/errorprint.cpp. */
export function comErrorText(e: ComErrorSpec): string {
  let s = errorLines(e.message);
  const details = `Details: code ${e.code} (0x${hex8(HRESULTS[e.code])}), component ${e.component}, interface ${e.iface}`;
  if (e.site) {
    s += errorLines(`${details}, callee nsISupports`);
    s += errorLines(`Context: "${e.site.context}" at line ${e.site.line} of file ${e.site.file}`);
  } else {
    s += errorLines(details);
  }
  return s;
}

export function comError(e: ComErrorSpec): SimFailure {
  return new SimFailure(comErrorText(e), 1);
}

/** A plain `VBoxManage: error: <text>` failure (RTMsgError), exit 1 unless told. */
export function plainError(text: string, exitCode = 1): SimFailure {
  return new SimFailure(errorLines(text), exitCode);
}

/** New-style (7.x) syntax error: logo, error line, blank line, brief usage. */
export function syntaxError(message: string, usage?: string): SimFailure {
  let s = LOGO + errorLines(message) + '\n';
  if (usage) {
    s += usage;
    if (usage.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '').length >= 16) {
      s += '\n' + errorLines(message);
    }
  }
  return new SimFailure(s, 2);
}

/** RTGetOpt failure (errorGetOpt): logo, error line, usage (no blank line between). */
export function getOptError(message: string, usage?: string): SimFailure {
  let s = LOGO + errorLines(message);
  if (usage) {
    s += usage;
    if (usage.split('\n').length - 1 >= 16) s += '\n' + errorLines(message);
  }
  return new SimFailure(s, 2);
}

/** errorArgument: just the error line, exit 2. */
export function argumentError(message: string): SimFailure {
  return new SimFailure(errorLines(message), 2);
}

const F_INFO = 'VBoxManageInfo.cpp';
const F_MISC = 'VBoxManageMisc.cpp';
const F_CTRL = 'VBoxManageControlVM.cpp';
const F_MOD = 'VBoxManageModifyVM.cpp';
const F_STOR = 'VBoxManageStorageController.cpp';
const F_DISK = 'VBoxManageDisk.cpp';
const F_HOSTONLY = 'VBoxManageHostonly.cpp';
const F_NATNET = 'VBoxManageNATNetwork.cpp';

const site = (file: string, line: number, context: string): CallSite => ({ file, line, context });

/** The 7.0.18 call sites the simulator reports (first line of each macro). */
export const SITES = {
  showvminfoFind: site(F_INFO, 3138, 'FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())'),
  startvmFind: site(F_MISC, 867, 'FindMachine(Bstr(pszVM).raw(), machine.asOutParam())'),
  startvmLaunch: site(
    F_MISC,
    880,
    'LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())',
  ),
  createvmCreate: site(
    F_MISC,
    397,
    'CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), bstrCipher.raw(), bstrPasswordId.raw(), Bstr(strPassword).raw(), machine.asOutParam())',
  ),
  createvmRegister: site(F_MISC, 417, 'RegisterMachine(machine)'),
  unregisterFind: site(F_MISC, 229, 'FindMachine(Bstr(VMName).raw(), machine.asOutParam())'),
  unregister: site(
    F_MISC,
    233,
    'Unregister(fDeleteAll ? CleanupMode_DetachAllReturnHardDisksAndVMRemovable :CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))',
  ),
  discardFind: site(F_MISC, 1240, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'),
  discardLock: site(F_MISC, 1247, 'LockMachine(a->session, LockType_Write)'),
  discard: site(F_MISC, 1252, 'DiscardSavedState(true /* fDeleteFile */)'),
  controlFind: site(F_CTRL, 365, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'),
  controlLock: site(F_CTRL, 371, 'LockMachine(a->session, LockType_Shared)'),
  pause: site(F_CTRL, 390, 'Pause()'),
  resume: site(F_CTRL, 395, 'Resume()'),
  reset: site(F_CTRL, 400, 'Reset()'),
  powerDown: site(F_CTRL, 604, 'PowerDown(progress.asOutParam())'),
  saveState: site(F_CTRL, 641, 'SaveState(progress.asOutParam())'),
  powerButton: site(F_CTRL, 660, 'PowerButton()'),
  sleepButton: site(F_CTRL, 665, 'SleepButton()'),
  modifyFind: site(F_MOD, 632, 'FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())'),
  modifyLock: site(F_MOD, 640, 'LockMachine(a->session, LockType_Write)'),
  setName: site(F_MOD, 664, 'COMSETTER(Name)(Bstr(ValueUnion.psz).raw())'),
  setGroups: site(F_MOD, 671, 'COMSETTER(Groups)(ComSafeArrayAsInParam(groups))'),
  setDescription: site(F_MOD, 676, 'COMSETTER(Description)(Bstr(ValueUnion.psz).raw())'),
  setOSType: site(F_MOD, 681, 'COMSETTER(OSTypeId)(Bstr(ValueUnion.psz).raw())'),
  setMemory: site(F_MOD, 724, 'COMSETTER(MemorySize)(ValueUnion.u32)'),
  setCPUs: site(F_MOD, 946, 'COMSETTER(CPUCount)(ValueUnion.u32)'),
  setAutostartEnabled: site(F_MOD, 3430, 'COMSETTER(AutostartEnabled)(ValueUnion.f)'),
  setAutostartDelay: site(F_MOD, 3436, 'COMSETTER(AutostartDelay)(ValueUnion.u32)'),
  setMacAuto: site(F_MOD, 2272, 'COMSETTER(MACAddress)(Bstr().raw())'),
  setMac: site(F_MOD, 2276, 'COMSETTER(MACAddress)(Bstr(ValueUnion.psz).raw())'),
  firmware: {
    efi: site(F_MOD, 744, 'COMSETTER(FirmwareType)(FirmwareType_EFI)'),
    efi32: site(F_MOD, 748, 'COMSETTER(FirmwareType)(FirmwareType_EFI32)'),
    efi64: site(F_MOD, 752, 'COMSETTER(FirmwareType)(FirmwareType_EFI64)'),
    efidual: site(F_MOD, 756, 'COMSETTER(FirmwareType)(FirmwareType_EFIDUAL)'),
    bios: site(F_MOD, 760, 'COMSETTER(FirmwareType)(FirmwareType_BIOS)'),
  } as Record<string, CallSite>,
  boot: {
    none: site(F_MOD, 1124, 'SetBootOrder(GetOptState.uIndex, DeviceType_Null)'),
    floppy: site(F_MOD, 1128, 'SetBootOrder(GetOptState.uIndex, DeviceType_Floppy)'),
    dvd: site(F_MOD, 1132, 'SetBootOrder(GetOptState.uIndex, DeviceType_DVD)'),
    disk: site(F_MOD, 1136, 'SetBootOrder(GetOptState.uIndex, DeviceType_HardDisk)'),
    net: site(F_MOD, 1140, 'SetBootOrder(GetOptState.uIndex, DeviceType_Network)'),
  } as Record<string, CallSite>,
  F_STOR,
  F_DISK,
  F_HOSTONLY,
  F_NATNET,
  F_MOD,
  F_MISC,
};

/** `Could not find a registered machine named '<x>'` (or `with UUID {<uuid>}`) at a FindMachine site. */
export function notFound(arg: string, at: CallSite): SimFailure {
  const u = parseUuid(arg);
  return comError({
    message: u ? `Could not find a registered machine with UUID {${u}}` : `Could not find a registered machine named '${arg}'`,
    code: 'VBOX_E_OBJECT_NOT_FOUND',
    component: 'VirtualBoxWrap',
    iface: 'IVirtualBox',
    site: at,
  });
}

/** Write-lock collision (LockMachine Write): `is already locked for a session (or being unlocked)`. */
export function lockedForSession(name: string, at: CallSite): SimFailure {
  return comError({
    message: `The machine '${name}' is already locked for a session (or being unlocked)`,
    code: 'VBOX_E_INVALID_OBJECT_STATE',
    component: 'MachineWrap',
    iface: 'IMachine',
    site: at,
  });
}

/** LaunchVMProcess collision: `is already locked by a session (or being locked or unlocked)`. */
export function lockedBySession(name: string): SimFailure {
  return comError({
    message: `The machine '${name}' is already locked by a session (or being locked or unlocked)`,
    code: 'VBOX_E_INVALID_OBJECT_STATE',
    component: 'MachineWrap',
    iface: 'IMachine',
    site: SITES.startvmLaunch,
  });
}

/** The VBoxSVC-unreachable block printed before any command runs. */
export function svcDownText(): string {
  return (
    errorLines('Failed to create the VirtualBox object!') +
    errorLines(
      'Code NS_ERROR_FACTORY_NOT_REGISTERED (0x80040154) - Class not registered (extended info not available)',
    ) +
    errorLines('Most likely, the VirtualBox COM server is not running or failed to start.')
  );
}

const UUID_RE = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/** Lowercase UUID if `s` is one (braces optional, any case), else undefined. */
export function parseUuid(s: string): string | undefined {
  const m = UUID_RE.exec(s);
  if (!m) return undefined;
  if (s.startsWith('{') !== s.endsWith('}')) return undefined;
  return m[1]!.toLowerCase();
}
