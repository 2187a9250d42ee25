/**
 * The state table: every VirtualBox state is mapped, MAAS-relevant mappings
 * are exactly `running`/`shut off`, and docs/states.md lists every state the
 * code maps (the doc is the contract; drift fails here).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DomainState, STATE_TABLE, mapState, stateWord } from '../../src/driver/states.js';
import type { VBoxMachineState } from '../../src/vbox/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALL: VBoxMachineState[] = [
  'poweroff', 'saved', 'teleported', 'aborted', 'aborted-saved', 'running', 'paused', 'gurumeditation',
  'teleporting', 'livesnapshotting', 'starting', 'stopping', 'saving', 'restoring', 'teleportingpausedvm',
  'teleportingin', 'deletingsnapshotlive', 'deletingsnapshotlivepaused', 'onlinesnapshotting',
  'restoringsnapshot', 'deletingsnapshot', 'settingup', 'snapshotting', 'unknown',
];

test('every VirtualBox state has exactly one row', () => {
  expect(Object.keys(STATE_TABLE).sort()).toEqual([...ALL].sort());
});

test.each([
  ['poweroff', 'shut off', 0, false, false],
  ['saved', 'shut off', 5, false, true],
  ['aborted', 'shut off', 3, false, false],
  ['aborted-saved', 'shut off', 3, false, true],
  ['running', 'running', 1, true, false],
  ['starting', 'running', 1, true, false],
  ['restoring', 'running', 3, true, false],
  ['paused', 'paused', 1, true, false],
  ['saving', 'paused', 3, true, false],
  ['gurumeditation', 'paused', 10, true, false],
  ['stopping', 'in shutdown', 1, true, false],
  ['unknown', 'no state', 0, false, false],
  ['no-such-state', 'no state', 0, false, false],
])('%s → %s (reason %d), active %s, managed save %s', (vbox, word, reason, active, ms) => {
  const m = mapState(vbox);
  expect(stateWord(m.state)).toBe(word);
  expect(m.reason).toBe(reason);
  expect(m.active).toBe(active);
  expect(m.managedSave).toBe(ms);
});

test('reasons refined by what the daemon last did', () => {
  expect(mapState('poweroff', 'destroy').reason).toBe(2);
  expect(mapState('poweroff', 'shutdown').reason).toBe(1);
  expect(mapState('running', 'resume').reason).toBe(5);
  expect(mapState('running', 'restore').reason).toBe(3);
  expect(mapState('paused', 'destroy')).toEqual(mapState('paused'));
});

test('every stopped-but-startable state is exactly SHUTOFF (MAAS powers on only `shut off`)', () => {
  for (const s of ['poweroff', 'saved', 'aborted', 'aborted-saved', 'teleported'] as const) {
    expect(mapState(s).state).toBe(DomainState.SHUTOFF);
  }
});

test('active states are exactly VirtualBox online states', () => {
  const online = ALL.filter((s) => mapState(s).active).sort();
  expect(online).toEqual([
    'deletingsnapshotlive', 'deletingsnapshotlivepaused', 'gurumeditation', 'livesnapshotting',
    'onlinesnapshotting', 'paused', 'restoring', 'running', 'saving', 'starting', 'stopping',
    'teleporting', 'teleportingin', 'teleportingpausedvm',
  ]);
});

test('docs/states.md documents every state with the word and reason number the code uses', () => {
  const doc = readFileSync(path.join(here, '../../docs/states.md'), 'utf8');
  for (const s of ALL) {
    const row = doc.split('\n').find((l) => l.startsWith('|') && l.split('|')[1]!.includes('`' + s + '`'));
    expect(row).toBeDefined();
    const m = mapState(s);
    expect(row).toContain(`${m.state} `);
    expect(row!.split('|')[3]).toContain(String(m.reason));
  }
});
