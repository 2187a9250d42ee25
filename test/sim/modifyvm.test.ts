/**
 * modifyvm semantics (spellings, order, all-or-nothing, value errors), extra-data,
 * guest properties and the autostart database, through real vboxsim processes.
 */
import { SimHome, createRunning, parseMr, simHomePerTest } from './simproc.js';

let h: SimHome;
simHomePerTest((home) => { h = home; });
const running = (name: string): Promise<string> => createRunning(h, name);

describe('modifyvm', () => {
  test('6.1 and 7.x spellings, --opt=value, applied in order', async () => {
    await h.create('mv', '--ostype', 'Ubuntu_64');
    await h.ok([
      'modifyvm', 'mv',
      '--memory=2048', '--cpus', '2',
      '--nic1', 'bridged', '--bridgeadapter1', 'eth0', '--macaddress1', '0800271a2b3c',
      '--nic-type1=virtio', '--cable-connected1', 'off',
      '--nic2=hostonly', '--host-only-adapter2', 'vboxnet0', '--mac-address2=08002700AA01', '--nictype2', '82545EM',
      '--nic3', 'intnet', '--intnet3', 'lab',
      '--nic4', 'natnetwork', '--nat-network4', 'natnet1',
      '--boot1', 'net', '--boot2', 'disk', '--boot3', 'none', '--boot4', 'none',
      '--nicbootprio1', '1', '--nic-boot-prio2=2',
      '--firmware', 'efi', '--autostart-enabled', 'on', '--autostart-delay', '30',
      '--description', 'line1\nline2', '--groups', '/lab,/maas',
      '--memory', '3072',
    ]);
    const out = await h.ok(['showvminfo', 'mv', '--machinereadable']);
    const i = parseMr(out);
    expect([i.get('memory'), i.get('cpus'), i.get('firmware')]).toEqual(['3072', '2', 'EFI']);
    expect(out).toContain('bridgeadapter1="eth0"\nmacaddress1="0800271A2B3C"\ncableconnected1="off"\nnic1="bridged"\nnictype1="virtio"\nnicspeed1="0"\n');
    expect(out).toContain('hostonlyadapter2="vboxnet0"\nmacaddress2="08002700AA01"\ncableconnected2="on"\nnic2="hostonly"\nnictype2="82545EM"\n');
    expect(out).toContain('intnet3="lab"\n');
    expect(out).toContain('nat-network4="natnet1"\n');
    expect(out).toContain('nic4="natnetwork"\n');
    expect([1, 2, 3, 4].map((n) => i.get(`boot${n}`))).toEqual(['net', 'disk', 'none', 'none']);
    expect([i.get('autostart-enabled'), i.get('autostart-delay'), i.get('groups'), i.get('description')]).toEqual(['on', '30', '/lab,/maas', 'line1\nline2']);
    // boot priority only in the human form
    expect(await h.ok(['showvminfo', 'mv'])).toMatch(/NIC 2: +MAC: 08002700AA01, Attachment: Host-only Interface 'vboxnet0', .*Boot priority: 2,/);
  });

  test('all-or-nothing: a failing option stops processing and nothing is saved', async () => {
    await h.create('aon');
    const before = await h.ok(['showvminfo', 'aon', '--machinereadable']);
    const r = await h.run(['modifyvm', 'aon', '--memory', '1024', '--cpus', '0', '--boot1', 'net']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe('VBoxManage: error: Invalid virtual CPU count: 0 (must be in range [1, 64])');
    expect(await h.ok(['showvminfo', 'aon', '--machinereadable'])).toBe(before);
  });

  test('value errors: boot device (exit 2), boot priority and NIC type typos (exit 1), MAC format, UUID as name', async () => {
    await h.create('bad');
    const boot = await h.run(['modifyvm', 'bad', '--boot1', 'usb']);
    expect(boot).toMatchObject({ code: 2, stderr: "VBoxManage: error: Invalid boot device 'usb'\n" });
    const prio = await h.run(['modifyvm', 'bad', '--nicbootprio1', '7']);
    expect(prio).toMatchObject({ code: 1, stderr: "VBoxManage: error: Invalid boot priority '7' specfied for NIC 1\n" });
    const nic = await h.run(['modifyvm', 'bad', '--nic1', 'wifi']);
    expect(nic).toMatchObject({ code: 1, stderr: "VBoxManage: error: Invalid type 'wifi' specfied for NIC 1\n" });
    for (const mac of ['08:00:27:00:00:01', '0800270000', '010027000001']) {
      const r = await h.run(['modifyvm', 'bad', '--macaddress1', mac]);
      expect([mac, r.code, r.stderr.split('\n')[0]]).toEqual([mac, 1, 'VBoxManage: error: Invalid MAC address format']);
    }
    const nm = await h.run(['modifyvm', 'bad', '--name', '{0F0F0F0F-0000-4000-8000-000000000000}']);
    expect(nm.stderr.split('\n')[0]).toBe('VBoxManage: error: A machine cannot have a UUID as its name');
    const unk = await h.run(['modifyvm', 'bad', '--memory', '256', '--frobnicate', 'x']);
    expect(unk.code).toBe(1);
    expect(unk.stderr).toContain('VBoxManage: error: Unknown option: --frobnicate');
    expect((await h.info('bad')).get('memory')).toBe('128');
    const few = await h.run(['modifyvm', 'bad']);
    expect(few.code).toBe(2);
    expect(few.stderr).toContain('VBoxManage: error: Not enough parameters\n');
  });

  test('running VM cannot be modified (locked for a session); rename keeps the UUID', async () => {
    const u = await running('rn');
    const r = await h.run(['modifyvm', 'rn', '--memory', '256']);
    expect(r.stderr.split('\n')[0]).toBe("VBoxManage: error: The machine 'rn' is already locked for a session (or being unlocked)");
    await h.ok(['controlvm', 'rn', 'poweroff']);
    await h.ok(['modifyvm', 'rn', '--name', 'renamed']);
    expect(await h.ok(['list', 'vms'])).toBe(`"renamed" {${u}}\n`);
  });
});

test('modifyvm with a NIC number out of range: message, option skipped, other options still applied (exit 0 as VirtualBox)', async () => {
  await h.create('nn');
  const r = await h.run(['modifyvm', 'nn', '--nic9', 'nat', '--memory', '640']);
  expect(r).toMatchObject({ code: 0, stdout: '', stderr: 'VBoxManage: error: Invalid NIC number 9\n' });
  expect((await h.info('nn')).get('memory')).toBe('640');
});

describe('extra-data, guest properties, autostart database', () => {
  test('setextradata/getextradata for a VM and global; guest properties with TRANSIENT dropped at power-off', async () => {
    await h.create('xd', '--ostype', 'Ubuntu_64');
    await h.ok(['setextradata', 'xd', 'FRONTEND/Type', 'headless']);
    expect(await h.ok(['getextradata', 'xd', 'FRONTEND/Type'])).toBe('Value: headless\n');
    expect(await h.ok(['getextradata', 'xd', 'enumerate'])).toBe('Key: FRONTEND/Type, Value: headless\n');
    expect(await h.ok(['getextradata', 'xd', 'other'])).toBe('No value set!\n');
    await h.ok(['setextradata', 'xd', 'FRONTEND/Type']);
    expect(await h.ok(['getextradata', 'xd', 'FRONTEND/Type'])).toBe('No value set!\n');
    await h.ok(['setextradata', 'global', 'GUI/Key', 'v']);
    expect(await h.ok(['getextradata', 'global', 'GUI/Key'])).toBe('Value: v\n');

    expect(await h.ok(['guestproperty', 'get', 'xd', '/Foo'])).toBe('No value set!\n');
    await h.ok(['guestproperty', 'set', 'xd', '/Foo', 'bar']);
    await h.ok(['guestproperty', 'set', 'xd', '/VirtualBox/GuestInfo/OS/Product', 'Linux', '--flags', 'TRANSIENT']);
    expect(await h.ok(['guestproperty', 'get', 'xd', '/Foo', '--verbose'])).toMatch(/^Value: bar\nTimestamp: \d+000000\nFlags: \n$/);
    const en = await h.ok(['guestproperty', 'enumerate', 'xd']);
    expect(en).toMatch(/^\/Foo {29}= 'bar' {3}@ \d{4}-\d\d-\d\dT[\d:]+\.\d{9}Z\n\/VirtualBox\/GuestInfo\/OS\/Product = 'Linux' @ .*Z TRANSIENT\n$/);
    await h.ok(['startvm', 'xd', '--type', 'headless']);
    await h.ok(['controlvm', 'xd', 'poweroff']);
    expect(await h.ok(['guestproperty', 'enumerate', 'xd', '--old-format'])).toMatch(/^Name: \/Foo, value: bar, timestamp: \d+, flags: \n$/);
  });

  test('without an autostart database, changing --autostart-enabled fails with E_FAIL (as on a stock Linux host)', async () => {
    await h.create('as');
    const r = await h.run(['modifyvm', 'as', '--autostart-enabled', 'on'], { VBOXSIM_AUTOSTART_DB: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'VBoxManage: error: The path to the autostart database is not set\n' +
        'VBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component SessionMachine, interface IMachine, callee nsISupports\n' +
        'VBoxManage: error: Context: "COMSETTER(AutostartEnabled)(ValueUnion.f)" at line 3430 of file VBoxManageModifyVM.cpp\n',
    );
    // no change requested → no database access → fine
    await h.ok(['modifyvm', 'as', '--autostart-enabled', 'off'], { VBOXSIM_AUTOSTART_DB: '0' });
    await h.ok(['modifyvm', 'as', '--autostart-enabled', 'on']);
    expect((await h.info('as')).get('autostart-enabled')).toBe('on');
  });
});
