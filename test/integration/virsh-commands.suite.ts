/**
 * Real virsh (libvirt-clients 9.0) over qemu+tcp:// against vboxvirt, for every
 * command of the issue. One suite, run once per backend by
 * virsh-commands-sim.test.ts (in-process simulator) and
 * virsh-commands-vboxmanage.test.ts (the simulator spawned as VBoxManage). State is set up and checked through the
 * simulator itself (`node bin/vboxsim.js …`), never through the daemon.
 */
import { jest } from '@jest/globals';
import type { Backend } from '../helpers/daemon.js';
import os from 'node:os';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { createStdHost, setState, CACHE_TTL_MS, expectedAlias, UNSAFE_NAMES, type StdHost } from '../helpers/fixtures.js';
import { virsh, virshOk } from '../helpers/virsh.js';
import { waitFor } from '../helpers/proc.js';
import { xpath, xpathEach, assertWellFormed } from '../helpers/xml.js';


/** Rows of a `virsh list` table: [id, name, state]; checks the header, rule and trailing blank line. */
function tableRows(out: string): string[][] {
  const lines = out.split('\n');
  expect(lines[0].trim().split(/\s+/)).toEqual(['Id', 'Name', 'State']);
  expect(lines[1]).toMatch(/^-+$/);
  expect(lines.slice(-2)).toEqual(['', '']);
  return lines.slice(2, -2).map((l) => l.trim().split(/\s{2,}/));
}
/** One value per line followed by virsh's blank line. */
function wordLines(out: string): string[] {
  expect(out.endsWith('\n\n') || out === '\n').toBe(true);
  return out.split('\n').filter((l) => l !== '');
}
function field(out: string, key: string): string | undefined {
  const m = new RegExp(`^${key.replace(/[()]/g, '\\$&')}:\\s*(.*)$`, 'm').exec(out);
  return m?.[1];
}

/** Defines the whole suite for one backend (called by virsh-commands-<backend>.test.ts). */
export function virshCommandsSuite(backend: Backend): void {
jest.setTimeout(120_000);
describe(`virsh commands against vboxvirt (${backend} backend)`, () => {
  let std: StdHost;
  let d: Daemon;
  const run = (...args: string[]) => virsh(args, { uri: d.uri });
  /** virsh that must succeed; on failure the error also carries the tail of the daemon's log. */
  const ok = async (...args: string[]) => {
    try {
      return await virshOk(args, { uri: d.uri });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- vboxvirt log (tail) ---\n${d.logs().slice(-3000)}`);
    }
  };

  beforeAll(async () => {
    std = await createStdHost({ withUnsafe: true });
    d = await startDaemon({ backend, host: std.host, args: ['--cache-ttl', String(CACHE_TTL_MS)] });
  });
  afterAll(async () => {
    await d?.stop();
    await std?.host.cleanup();
  });
  beforeEach(async () => {
    await setState(std.host, 'test', 'running');
    await setState(std.host, 'off1', 'poweroff');
  });
  test('version and version --daemon: libvirt shape, a hypervisor version', async () => {
    const v = await ok('version');
    expect(v).toMatch(/^Compiled against library: libvirt \d+\.\d+\.\d+\nUsing library: libvirt \d+\.\d+\.\d+\nUsing API: \S+ \d+\.\d+\.\d+\nRunning hypervisor: \S+ \d+\.\d+\.\d+\n\n$/);
    const vd = await ok('version', '--daemon');
    expect(vd.startsWith(v.slice(0, -1))).toBe(true);
    expect(vd).toMatch(/\nRunning against daemon: \d+\.\d+\.\d+\n\n$/);
  });

  test('hostname prints one word', async () => {
    const h = await ok('hostname');
    expect(h).toMatch(/^\S+\n\n$/);
    expect(h.trim()).toBe(os.hostname());
  });

  test('uri prints the connection URI', async () => {
    expect(await ok('uri')).toBe(`${d.uri}\n\n`);
  });

  test('list shows only active domains with a positive id', async () => {
    const rows = tableRows(await ok('list'));
    expect(rows).toHaveLength(1);
    expect(rows[0][1]).toBe('test');
    expect(rows[0][2]).toBe('running');
    expect(Number(rows[0][0])).toBeGreaterThan(0);
    expect(tableRows(await ok('list', '--table'))).toEqual(rows);
  });

  test('list --all shows every VM (aliases for unsafe names), active first by id, then by name', async () => {
    const rows = tableRows(await ok('list', '--all'));
    const aliases = UNSAFE_NAMES.map((n) => expectedAlias(n, std.uuids[n]));
    expect(rows[0].slice(1)).toEqual(['test', 'running']);
    const inactive = rows.slice(1);
    expect(inactive.every((r) => r[0] === '-' && r[2] === 'shut off')).toBe(true);
    const names = inactive.map((r) => r[1]);
    expect([...names].sort()).toEqual(['off1', ...aliases].sort());
    // virsh sorts inactive domains by name with strcasecmp (ASCII, case-insensitive)
    const ci = (a: string, b: string) => { const x = a.toLowerCase(); const y = b.toLowerCase(); return x < y ? -1 : x > y ? 1 : 0; };
    expect(names).toEqual([...names].sort(ci));
  });

  test('list --all --name / --uuid / --inactive / --name (active)', async () => {
    const aliases = UNSAFE_NAMES.map((n) => expectedAlias(n, std.uuids[n]));
    expect(wordLines(await ok('list', '--all', '--name')).sort()).toEqual(['off1', 'test', ...aliases].sort());
    expect(wordLines(await ok('list', '--name'))).toEqual(['test']);
    expect(wordLines(await ok('list', '--uuid'))).toEqual([std.uuids.test]);
    expect(wordLines(await ok('list', '--all', '--uuid')).sort()).toEqual(Object.values(std.uuids).sort());
    const inact = tableRows(await ok('list', '--inactive')).map((r) => r[1]);
    expect(inact.sort()).toEqual(['off1', ...aliases].sort());
  });

  test('list --state-running / --state-shutoff / --state-paused', async () => {
    await setState(std.host, 'off1', 'paused');
    expect(tableRows(await ok('list', '--all', '--state-running')).map((r) => r[1])).toEqual(['test']);
    const paused = tableRows(await ok('list', '--all', '--state-paused'));
    expect(paused.map((r) => [r[1], r[2]])).toEqual([['off1', 'paused']]);
    const off = tableRows(await ok('list', '--all', '--state-shutoff')).map((r) => r[1]);
    expect(off).not.toContain('test');
    expect(off).not.toContain('off1');
    expect(off).toHaveLength(UNSAFE_NAMES.length);
  });

  test('list --managed-save marks saved VMs; --with-managed-save filters them', async () => {
    await setState(std.host, 'off1', 'saved');
    try {
      const rows = tableRows(await ok('list', '--all', '--managed-save'));
      expect(rows.find((r) => r[1] === 'off1')?.[2]).toBe('saved');
      expect(rows.find((r) => r[1] === 'test')?.[2]).toBe('running');
      expect(tableRows(await ok('list', '--all', '--with-managed-save')).map((r) => r[1])).toEqual(['off1']);
      expect(field(await ok('dominfo', 'off1'), 'Managed save')).toBe('yes');
    } finally {
      await setState(std.host, 'off1', 'poweroff');
    }
  });

  test('autostart / autostart --disable on a stopped VM, seen by list --autostart and dominfo', async () => {
    expect(await ok('autostart', 'off1')).toBe("Domain 'off1' marked as autostarted\n\n");
    expect(tableRows(await ok('list', '--all', '--autostart')).map((r) => r[1])).toEqual(['off1']);
    expect(field(await ok('dominfo', 'off1'), 'Autostart')).toBe('enable');
    expect(await ok('autostart', '--disable', 'off1')).toBe("Domain 'off1' unmarked as autostarted\n\n");
    expect(tableRows(await ok('list', '--all', '--autostart'))).toEqual([]);
    expect(field(await ok('dominfo', 'off1'), 'Autostart')).toBe('disable');
  });

  test('autostart on a running VM (as in the libvirtd capture `autostart`)', async () => {
    expect(await ok('autostart', 'test')).toBe("Domain 'test' marked as autostarted\n\n");
    expect(field(await ok('dominfo', 'test'), 'Autostart')).toBe('enable');
    expect(await ok('autostart', '--disable', 'test')).toBe("Domain 'test' unmarked as autostarted\n\n");
    expect(field(await ok('dominfo', 'test'), 'Autostart')).toBe('disable');
  });

  test('domstate / domstate --reason, by name, id and uuid', async () => {
    expect(await ok('domstate', 'test')).toBe('running\n\n');
    expect(await ok('domstate', '--reason', 'test')).toMatch(/^running \((booted|unknown)\)\n\n$/);
    expect(await ok('domstate', 'off1')).toBe('shut off\n\n');
    const id = (await ok('domid', 'test')).trim();
    expect(Number(id)).toBeGreaterThan(0);
    expect(await ok('domstate', id)).toBe('running\n\n');
    expect(await ok('domstate', std.uuids.test)).toBe('running\n\n');
    expect(await ok('domstate', std.uuids.off1)).toBe('shut off\n\n');
  });

  test('domuuid / domid / domname (by id and by uuid)', async () => {
    expect(await ok('domuuid', 'test')).toBe(`${std.uuids.test}\n\n`);
    expect(await ok('domid', 'off1')).toBe('-\n\n');
    const id = (await ok('domid', 'test')).trim();
    expect(id).toMatch(/^[1-9]\d*$/);
    expect(await ok('domname', id)).toBe('test\n\n');
    expect(await ok('domname', std.uuids.off1)).toBe('off1\n\n');
    expect(await ok('domuuid', id)).toBe(`${std.uuids.test}\n\n`);
  });

  test('dominfo: id, name, uuid, state, vCPUs, memory, persistence', async () => {
    const out = await ok('dominfo', 'test');
    expect(field(out, 'Id')).toMatch(/^[1-9]\d*$/);
    expect(field(out, 'Name')).toBe('test');
    expect(field(out, 'UUID')).toBe(std.uuids.test);
    expect(field(out, 'State')).toBe('running');
    expect(field(out, 'CPU(s)')).toBe('2');
    expect(field(out, 'Max memory')).toBe('2097152 KiB');
    expect(field(out, 'Persistent')).toBe('yes');
    const off = await ok('dominfo', 'off1');
    expect(field(off, 'Id')).toBe('-');
    expect(field(off, 'State')).toBe('shut off');
    expect(field(off, 'CPU(s)')).toBe('1');
    expect(field(off, 'Max memory')).toBe('1048576 KiB');
  });

  test('start: the VM runs in the simulator and gets an id', async () => {
    expect(await ok('start', 'off1')).toBe("Domain 'off1' started\n\n");
    expect(await std.host.state('off1')).toBe('running');
    expect((await ok('domid', 'off1')).trim()).toMatch(/^[1-9]\d*$/);
    expect(await ok('domstate', 'off1')).toBe('running\n\n');
  });

  test('destroy: powered off at once, reason destroyed', async () => {
    expect(await ok('destroy', 'test')).toBe("Domain 'test' destroyed\n\n");
    expect(await std.host.state('test')).toBe('poweroff');
    expect(await ok('domstate', '--reason', 'test')).toBe('shut off (destroyed)\n\n');
    expect(await ok('domid', 'test')).toBe('-\n\n');
  });

  test('shutdown: ACPI power button, the VM reaches shut off after the guest reacts', async () => {
    expect(await ok('shutdown', 'test')).toBe("Domain 'test' is being shutdown\n\n");
    await waitFor('test to reach shut off', async () => (await ok('domstate', 'test')) === 'shut off\n\n', 60_000, 250);
    expect(await std.host.state('test')).toBe('poweroff');
  });

  test('reboot: ACPI restart, the VM goes down and comes back running', async () => {
    const before = (await std.host.info('test')).VMStateChangeTime;
    expect(await ok('reboot', 'test')).toBe("Domain 'test' is being rebooted\n\n");
    // the simulator's state-change time moves when the guest powers off and again when it is started
    await waitFor('test restarted by the reboot', async () => {
      const i = await std.host.info('test');
      return i.VMState === 'running' && i.VMStateChangeTime !== before;
    }, 60_000, 200);
    expect(await ok('domstate', 'test')).toBe('running\n\n');
  });

  test('reset: hard reset, stays running', async () => {
    expect(await ok('reset', 'test')).toBe("Domain 'test' was reset\n\n");
    expect(await ok('domstate', 'test')).toBe('running\n\n');
    expect(await std.host.state('test')).toBe('running');
  });

  test('suspend / resume', async () => {
    expect(await ok('suspend', 'test')).toBe("Domain 'test' suspended\n\n");
    expect(await std.host.state('test')).toBe('paused');
    expect(await ok('domstate', '--reason', 'test')).toBe('paused (user)\n\n');
    expect(tableRows(await ok('list')).map((r) => [r[1], r[2]])).toEqual([['test', 'paused']]);
    expect(await ok('resume', 'test')).toBe("Domain 'test' resumed\n\n");
    expect(await std.host.state('test')).toBe('running');
    expect(await ok('domstate', '--reason', 'test')).toBe('running (unpaused)\n\n');
  });

  test('nodeinfo: MAAS-parsable fields', async () => {
    const out = await ok('nodeinfo');
    expect(field(out, 'CPU model')).toMatch(/^(x86_64|aarch64)$/);
    expect(Number(field(out, 'CPU(s)'))).toBeGreaterThan(0);
    expect(field(out, 'CPU frequency')).toMatch(/^\d+ MHz$/);
    expect(field(out, 'Memory size')).toMatch(/^[1-9]\d* KiB$/);
    for (const k of ['CPU socket(s)', 'Core(s) per socket', 'Thread(s) per core', 'NUMA cell(s)']) {
      expect(field(out, k)).toMatch(/^[1-9]\d*$/);
    }
  });

  test('capabilities: well-formed XML with host arch and an hvm guest', async () => {
    const out = await ok('capabilities');
    await assertWellFormed(out);
    expect(await xpath(out, 'string(/capabilities/host/cpu/arch)')).toMatch(/^(x86_64|aarch64)$/);
    expect(await xpath(out, 'string(/capabilities/host/uuid)')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await xpathEach(out, '/capabilities/guest', 'string(os_type)')).toContain('hvm');
  });

  test('dumpxml: name, uuid, memory, vcpus, os type/arch, boot order, NIC MACs', async () => {
    const xml = await ok('dumpxml', 'test');
    expect(xml).not.toMatch(/^<\?xml/); // MAAS's lxml rejects an encoding declaration
    await assertWellFormed(xml);
    expect(await xpath(xml, 'string(/domain/name)')).toBe('test');
    expect(await xpath(xml, 'string(/domain/uuid)')).toBe(std.uuids.test);
    expect(Number(await xpath(xml, 'string(/domain/@id)'))).toBeGreaterThan(0);
    expect(await xpath(xml, 'string(/domain/memory/@unit)')).toBe('KiB');
    expect(await xpath(xml, 'string(/domain/memory)')).toBe('2097152');
    expect(await xpath(xml, 'string(/domain/vcpu)')).toBe('2');
    expect(await xpath(xml, 'string(/domain/os/type)')).toBe('hvm');
    expect(await xpath(xml, 'string(/domain/os/type/@arch)')).toBe('x86_64');
    expect(await xpathEach(xml, '/domain/os/boot', 'string(@dev)')).toEqual(['network', 'hd']);
    expect(await xpathEach(xml, '/domain/devices/interface', 'string(mac/@address)')).toEqual(['08:00:27:aa:bb:01']);
    const src = await xpathEach(xml, '/domain/devices/interface', 'string(source/@bridge)');
    expect(src).toEqual(['en0']);
    const off = await ok('dumpxml', 'off1');
    expect(await xpath(off, 'string(/domain/@id)')).toBe('');
    expect(await xpathEach(off, '/domain/os/boot', 'string(@dev)')).toEqual(['hd']);
    expect(await xpath(off, 'string(/domain/vcpu)')).toBe('1');
    expect(await xpath(off, 'string(/domain/memory)')).toBe('1048576');
    expect(await xpathEach(off, '/domain/devices/interface', 'string(mac/@address)')).toEqual(['08:00:27:aa:bb:02']);
  });

  test('VMs with unsafe names: listed under their alias; lookups by alias and uuid work', async () => {
    for (const n of UNSAFE_NAMES) {
      const alias = expectedAlias(n, std.uuids[n]);
      expect(await ok('domstate', alias)).toBe('shut off\n\n');
      expect(await ok('domuuid', alias)).toBe(`${std.uuids[n]}\n\n`);
      expect(await ok('domname', std.uuids[n])).toBe(`${alias}\n\n`);
    }
    const alias = expectedAlias('My VM', std.uuids['My VM']);
    expect(field(await ok('dominfo', alias), 'Name')).toBe(alias);
    expect(await xpath(await ok('dumpxml', alias), 'string(/domain/name)')).toBe(alias);
    expect(await ok('start', alias)).toBe(`Domain '${alias}' started\n\n`);
    expect(await std.host.state('My VM')).toBe('running');
    expect(await ok('destroy', alias)).toBe(`Domain '${alias}' destroyed\n\n`);
    expect(await std.host.state('My VM')).toBe('poweroff');
  });
});
}
