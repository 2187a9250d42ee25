/**
 * Persisted state of the storage handlers: client-defined pools
 * (pools.json: active again after a restart only when autostarted, as libvirt)
 * and pending domain changes (pending.json), on a real temporary folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PoolRegistry } from '../../src/driver/storage/pools.js';
import { PendingStore, mergeChanges, overlayPending } from '../../src/driver/storage/pending.js';
import { LibvirtError } from '../../src/rpc/errors.js';
import { makeVm, nic } from './helpers.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vboxvirt-state-')); });
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const poolXml = (name: string, p: string) => `<pool type='dir'><name>${name}</name><target><path>${p}</path></target></pool>`;

test('pools survive a restart; only autostarted ones come back active; built-ins are protected', async () => {
  const state = path.join(dir, 'state');
  const reg = new PoolRegistry({ defaultFolder: path.join(dir, 'vms'), stateDir: state });
  const a = await reg.define(poolXml('a', path.join(dir, 'a')));
  const b = await reg.define(poolXml('b', path.join(dir, 'b')));
  await reg.build(a);
  await reg.build(b);
  await reg.start(a);
  await reg.start(b);
  await reg.setAutostart(a, true);
  // same definition again: no-op; same name, other path: refused; other name, same path: refused
  expect(await reg.define(poolXml('a', path.join(dir, 'a')))).toBe(a);
  await expect(reg.define(poolXml('a', path.join(dir, 'elsewhere')))).rejects.toThrow(/already exists/);
  await expect(reg.define(poolXml('c', path.join(dir, 'a')))).rejects.toThrow(/Storage source conflict with pool: 'a'/);
  await expect(reg.undefine(reg.byName('default'))).rejects.toThrow(/built in/);
  await expect(reg.start(a)).rejects.toThrow(/already active/);

  const again = new PoolRegistry({ defaultFolder: path.join(dir, 'vms'), stateDir: state });
  expect(again.list().map((p) => [p.name, p.active, p.autostart])).toEqual([
    ['default', true, true], ['a', true, true], ['b', false, false],
  ]);
  expect(again.byName('a').uuid).toBe(a.uuid);
  await expect(again.undefine(again.byName('a'))).rejects.toThrow(/still active/);
  await again.destroy(again.byName('a'));
  await again.undefine(again.byName('a'));
  expect(() => again.byName('a')).toThrow(LibvirtError);
  expect(new PoolRegistry({ stateDir: state }).list().map((p) => p.name)).toEqual(['b']);
});

test('a damaged pools.json loses client pools, never the built-in ones', () => {
  fs.mkdirSync(path.join(dir, 'state'));
  fs.writeFileSync(path.join(dir, 'state', 'pools.json'), '{not json');
  const reg = new PoolRegistry({ defaultFolder: dir, stateDir: path.join(dir, 'state') });
  expect(reg.list().map((p) => p.name)).toEqual(['default']);
});

test('pending changes merge per NIC slot, persist, and overlay the VM for the inactive XML', async () => {
  const s1 = new PendingStore(dir);
  await s1.add('u1', { memoryMB: 2048, nics: [{ slot: 1, model: 'virtio' }] });
  await s1.add('u1', { boot: ['net', 'disk'], nics: [{ slot: 1, mac: '080027000001' }, { slot: 2, attachment: 'nat' }] });
  const s2 = new PendingStore(dir);
  const c = s2.get('u1')!;
  expect(c).toEqual({
    memoryMB: 2048, boot: ['net', 'disk'],
    nics: [{ slot: 1, model: 'virtio', mac: '080027000001' }, { slot: 2, attachment: 'nat' }],
  });
  expect(mergeChanges({ cpus: 1 }, { cpus: 2 })).toEqual({ cpus: 2 });
  const vm = overlayPending(makeVm({ nics: [nic(1, 'nat'), nic(2, 'none')] }), c);
  expect(vm.memoryMB).toBe(2048);
  expect(vm.boot).toEqual(['net', 'disk', 'none', 'none']);
  expect(vm.nics.map((n) => [n.slot, n.attachment, n.model, n.mac])).toEqual([
    [1, 'nat', 'virtio', '080027000001'], [2, 'nat', '82540EM', '080027A00002'],
  ]);
  await s2.clear('u1');
  expect(new PendingStore(dir).get('u1')).toBeUndefined();
});
