/**
 * `npm run bench`: libvirtd 9.0 (A) vs vboxvirt on the in-process simulator (B) vs vboxvirt
 * driving VBoxManage = vboxsim with Linux/macOS/Windows delay profiles (C), side by side,
 * interleaved, on MAAS-like workloads. See docs/performance.md.
 *
 * Exit status: 0 when every measurement ran without errors, hangs or crashes (slow figures
 * are reported as FAIL in the targets table, never as an exit status); 1 when something
 * failed; 2 when a prerequisite is missing.
 */
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHolder } from './clients.js';
import {
  PROFILES,
  cloneSimHome,
  freezeBuild,
  seedSimHome,
  startLibvirtd,
  startNodeFloor,
  startVboxvirt,
  type DelayProfile,
  type SystemUnderTest,
} from './servers.js';
import { SYSTEM_ORDER, aggregate, evaluateTargets, ratioToA, renderMarkdown, renderSvg, type BenchReport } from './report.js';
import { installPrerequisites, machineInfo, missingPrerequisites, projectRoot, sampleProc, shebangNodeArgs, sleep } from './util.js';
import * as W from './workloads.js';

interface Opts {
  quick: boolean;
  rounds?: number;
  vms?: number;
  soakSeconds?: number;
  burst?: number;
  systems: string;
  profiles: string;
  workloads: string;
  pinned: boolean;
  out?: string;
  python: string;
  cacheTtl?: number;
  uriScheme: string;
  uriPath: string;
  startSerialFraction: number;
  cpuProf: boolean;
  allowMissing: boolean;
  slowSim: boolean;
  nodeArgs?: string;
  pairedBlock?: number;
  pairedBlockWarm?: number;
  pairedCycles?: number;
}

const ALL_WORKLOADS = ['serial', 'conc', 'churn', 'maas', 'burst', 'soak', 'flood'];

function parseArgs(argv: string[]): Opts {
  const p = new Command()
    .name('bench')
    .description('vboxvirt vs libvirtd side by side (A = libvirtd test driver, B = vboxvirt sim backend, C = vboxvirt → vboxsim with delay profiles)')
    .option('--quick', 'every workload briefly (well under a minute); figures indicative only', false)
    .option('--rounds <n>', 'interleaved rounds per workload (default 3, quick 1)', (v) => parseInt(v, 10))
    .option('--vms <n>', 'VMs every system holds (default 100, quick 10)', (v) => parseInt(v, 10))
    .option('--soak-seconds <s>', 'W6 soak duration (default 180, quick 2)', (v) => parseFloat(v))
    .option('--burst <n>', 'VMs started at once in W5 (default 20, quick 2)', (v) => parseInt(v, 10))
    .option('--systems <list>', 'systems to measure (N: the Node floor, W1 lookup+state only)', 'A,B,C,N')
    .option('--profiles <list>', 'C delay profiles', 'linux,macos,windows')
    .option('--workloads <list>', `workloads (${ALL_WORKLOADS.join(',')})`, ALL_WORKLOADS.join(','))
    .option('--paired-block <n>', 'W1 state paired: lookup+state calls measured per block (default 1500, quick 50)', (v) => parseInt(v, 10))
    .option('--paired-block-warm <n>', 'W1 state paired: calls before them in each block, reported as "after idle" (default 1500, quick 50)', (v) => parseInt(v, 10))
    .option('--paired-cycles <n>', 'W1 state paired: blocks per system (default 16, quick 2)', (v) => parseInt(v, 10))
    .option('--no-pinned', 'skip the W1 variant with server and client pinned to CPU 0')
    .option('--out <dir>', 'output directory (default results/<timestamp>)')
    .option('--python <path>', 'python interpreter with python3-libvirt', '/usr/bin/python3')
    .option('--cache-ttl <ms>', 'pass --cache-ttl to vboxvirt', (v) => parseInt(v, 10))
    .option('--uri-scheme <s>', 'URI scheme clients use for B and C', 'qemu+tcp')
    .option('--uri-path <p>', 'URI path clients use for B and C', '/system')
    .option('--start-serial-fraction <f>', 'share of a startvm that VirtualBox (here: the simulator) serialises across VMs; vboxsim only locks per VM, so 0', (v) => parseFloat(v), 0)
    .option('--cpu-prof', 'run B under node --cpu-prof (profiles in OUT/prof)', false)
    .option('--node-args <flags>', "node flags for the vboxvirt daemons (default: the ones bin/vboxvirt.js's #! line gives)")
    .option('--slow-sim', 'C: run `node bin/vboxsim.js` (~100 ms of start-up) per VBoxManage call instead of the compiled fastsim client', false)
    .option('--allow-missing', 'a system that cannot start is reported, not a failure', false)
    .exitOverride();
  p.parse(argv, { from: 'user' });
  return p.opts<Opts>();
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const projRoot = projectRoot();
  let missing = missingPrerequisites(o.python, !o.slowSim);
  if (missing.length) {
    // like the tests: install what is missing (Debian packages, .ci/install-deps), then look again
    log('missing: ' + missing.join('; '));
    const why = installPrerequisites(projRoot, log);
    missing = missingPrerequisites(o.python, !o.slowSim);
    if (missing.length) {
      process.stderr.write(
        'The benchmark needs, and could not find:\n' + missing.map((m) => '  - ' + m).join('\n') + '\n' + (why ? `(${why})\n` : ''),
      );
      return 2;
    }
  }
  // the daemons run as an installed `vboxvirt` does: with the node flags of bin/vboxvirt.js's #! line
  const daemonNodeArgs = o.nodeArgs !== undefined ? o.nodeArgs.split(/\s+/).filter(Boolean) : shebangNodeArgs(path.join(projRoot, 'bin', 'vboxvirt.js'));
  const quick = o.quick;
  const rounds = o.rounds ?? (quick ? 1 : 3);
  const ctx: W.BenchContext = {
    root: '', // set below to the frozen copy of bin/, dist/, bench/loadgen.py
    python: o.python,
    vms: o.vms ?? (quick ? 10 : 100),
    startEvery: 4,
    serialSeconds: quick ? 0.3 : 2,
    pairedBlock: o.pairedBlock ?? (quick ? 50 : 1500),
    pairedBlockWarm: o.pairedBlockWarm ?? (quick ? 50 : 1500),
    pairedCycles: o.pairedCycles ?? (quick ? 2 : 16),
    concSeconds: quick ? 0.3 : 3,
    churnSeconds: quick ? 0.3 : 2,
    maasSweeps: quick ? 1 : 3,
    burstVms: o.burst ?? (quick ? 2 : 20),
    soakSeconds: o.soakSeconds ?? (quick ? 2 : 180),
    soakConns: 64,
    perConnConns: quick ? 32 : 256,
    floodClients: quick ? 8 : 64,
    floodPerClient: quick ? 2 : 5,
    log,
    simUuids: new Map(),
  };
  const wantSystems = new Set(o.systems.split(',').map((s) => s.trim().toUpperCase()));
  const profiles: DelayProfile[] = o.profiles
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is DelayProfile['name'] => s in PROFILES)
    .map((s) => PROFILES[s]);
  const workloads = new Set(o.workloads.split(',').map((s) => s.trim()));
  const startedAt = new Date().toISOString();
  const outDir = path.resolve(o.out ?? path.join(projRoot, 'results', startedAt.replace(/[:.]/g, '-')));
  mkdirSync(outDir, { recursive: true });
  // short: libvirtd's unix socket path lives in here
  const work = mkdtempSync(path.join(os.tmpdir(), 'vbb-'));
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping every process the bench started`);
    rmSync(work, { recursive: true, force: true });
    process.exit(130); // the exit hook in servers.ts kills the tracked process groups
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const root = await freezeBuild(projRoot, path.join(work, 'app'));
  ctx.root = root;
  const machine = machineInfo(o.python);
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, kernel ${machine.kernel}, node ${machine.node}, ${machine.libvirtd}, virsh ${machine.virsh}, python3-libvirt ${machine.pythonLibvirt}`);
  log(`output: ${outDir}${quick ? ' (quick mode)' : ''}`);

  const failures: string[] = [];
  const systems: SystemUnderTest[] = [];
  const sysInfo: BenchReport['systems'] = [];
  const holders: Array<() => Promise<void>> = [];
  const rssIdle = new Map<string, number>();
  const rssIdleRaw = new Map<string, number>();
  const measurements: W.Measurement[] = [];
  const dead = new Set<string>();
  let floor: SystemUnderTest | null = null;

  const unavailable = (id: string, label: string, reason: string): void => {
    sysInfo.push({ id, label, uri: '', available: false, reason });
    log(`${id} unavailable: ${reason}`);
    if (!o.allowMissing) failures.push(`${id} could not be started: ${reason.split('\n')[0]}`);
  };

  try {
    // A
    if (wantSystems.has('A')) {
      try {
        const a = await startLibvirtd(work);
        const h = await startHolder(o.python, root, a.uri, ctx.vms, ctx.startEvery);
        holders.push(h.stop);
        systems.push(a);
        sysInfo.push({ id: a.id, label: a.label, uri: a.uri, available: true });
        log(`A: libvirtd pid ${a.pid} on ${a.uri}, ${String(h.info.domains)} domains`);
      } catch (e) {
        unavailable('A', 'libvirtd 9.0, test driver', (e as Error).message);
      }
    }
    // B and C share one seeded simulator home, copied per system
    const wantB = wantSystems.has('B');
    const wantC = wantSystems.has('C') && profiles.length > 0;
    if (wantB || wantC) {
      const seed = path.join(work, 'seed');
      let seeded = false;
      try {
        log(`seeding ${ctx.vms} simulated VMs (every ${ctx.startEvery}th running) with bin/vboxsim.js`);
        ctx.simUuids = await seedSimHome(root, seed, ctx.vms, ctx.startEvery);
        seeded = true;
      } catch (e) {
        const reason = `seeding the simulator failed: ${(e as Error).message}`;
        if (wantB) unavailable('B', 'vboxvirt, in-process simulator', reason);
        if (wantC) for (const p of profiles) unavailable(`C-${p.name}`, `vboxvirt → vboxsim, ${p.name} delays`, reason);
      }
      if (seeded) {
        const starts: Array<Promise<void>> = [];
        const add = (id: string, label: string, backend: 'sim' | 'vboxmanage', profile?: DelayProfile): void => {
          const home = path.join(work, id);
          cloneSimHome(seed, home, profile ?? null);
          starts.push(
            (async () => {
              try {
                const s = await startVboxvirt(id, {
                  root,
                  workDir: work,
                  backend,
                  simHome: home,
                  profile,
                  cacheTtlMs: o.cacheTtl,
                  uriScheme: o.uriScheme,
                  uriPath: o.uriPath,
                  extraNodeArgs: [...daemonNodeArgs, ...(o.cpuProf && backend === 'sim' ? ['--cpu-prof', '--cpu-prof-dir', path.join(outDir, 'prof')] : [])],
                  slowSim: o.slowSim,
                });
                const h = await startHolder(o.python, root, s.uri, 0, 0).catch(async (e: Error) => {
                  await s.stop();
                  throw e;
                });
                holders.push(h.stop);
                systems.push(s);
                sysInfo.push({ id: s.id, label: s.label, uri: s.uri, available: true });
                log(`${id}: vboxvirt pid ${s.pid} on ${s.uri}, ${String(h.info.domains)} domains`);
              } catch (e) {
                unavailable(id, label, (e as Error).message);
              }
            })(),
          );
        };
        if (wantB) add('B', 'vboxvirt, in-process simulator', 'sim');
        if (wantC) for (const p of profiles) add(`C-${p.name}`, `vboxvirt → vboxsim, ${p.name} delays`, 'vboxmanage', p);
        await Promise.all(starts);
      }
    }
    // N answers only W1's lookup+state: it is kept out of `systems`
    if (wantSystems.has('N')) {
      try {
        floor = await startNodeFloor(root, daemonNodeArgs);
        log(`N: Node floor pid ${floor.pid} on ${floor.uri}`);
      } catch (e) {
        unavailable('N', 'Node floor: bare net server, canned replies', (e as Error).message);
      }
    }
    const order = (s: SystemUnderTest): number => (s.kind === 'A' ? 0 : s.kind === 'B' ? 1 : 2 + profiles.findIndex((p) => p.name === s.profile?.name));
    systems.sort((a, b) => order(a) - order(b));
    if (floor) sysInfo.push({ id: floor.id, label: floor.label, uri: floor.uri, available: true });
    sysInfo.sort((a, b) => SYSTEM_ORDER(a.id) - SYSTEM_ORDER(b.id));
    await sleep(1000);
    for (const s of systems) {
      try {
        // vboxvirt: after a full collection (its SIGUSR2 status); libvirtd has no GC: as is
        const settled = s.settledMemory ? await s.settledMemory() : null;
        rssIdle.set(s.id, settled?.rssKb ?? sampleProc(s.pid).rssKb);
        rssIdleRaw.set(s.id, sampleProc(s.pid).rssKb);
      } catch {
        /* crash: noticed below */
      }
    }

    // C runs the RPC-layer workloads with its first profile only; the MAAS poll with every profile
    const firstC = systems.find((s) => s.kind === 'C');
    const rpcSystems = systems.filter((s) => s.kind !== 'C' || s === firstC);
    const alive = (list: SystemUnderTest[]): SystemUnderTest[] => list.filter((s) => !dead.has(s.id));
    const record = (s: SystemUnderTest, m: W.Measurement): void => {
      measurements.push(m);
      const crash = s.exitInfo();
      if (crash && !dead.has(s.id)) {
        dead.add(s.id);
        failures.push(`${s.id} crashed during ${m.workload} ${m.variant}: ${crash}\n${s.stderrTail().slice(-800)}`);
      }
      const bad = m.errors || m.hangs ? ` — ${m.errors} errors, ${m.hangs} hangs${m.notes[0] ? ': ' + m.notes[0] : ''}` : '';
      const head = Object.entries(m.metrics)
        .slice(0, 4)
        .map(([k, v]) => `${k}=${v === null ? 'n/a' : Math.round(v * 100) / 100}`)
        .join(' ');
      log(`${m.workload} ${m.variant} r${m.round} ${s.id}: ${head}${bad}`);
    };
    const interleave = async (list: SystemUnderTest[], fn: (s: SystemUnderTest, round: number) => Promise<W.Measurement>): Promise<void> => {
      for (let r = 1; r <= rounds; r++) for (const s of alive(list)) record(s, await fn(s, r));
    };

    // The MAAS poll first: its first sweep then meets cold caches, as a real MAAS poll does
    // (MAAS queries each VM about every 5 minutes, see ../shared/spec/performance.md §2).
    if (workloads.has('maas')) await interleave(systems, (s, r) => W.maasPoll(ctx, s, r));
    if (workloads.has('serial')) {
      const variants: Array<[string, boolean]> = [['state', false], ['list', false], ['dumpxml', false]];
      if (o.pinned && !quick) variants.push(['state', true], ['list', true], ['dumpxml', true]);
      for (const [op, pinned] of variants) {
        const list = op === 'state' && floor ? [...rpcSystems, floor] : rpcSystems;
        await interleave(list, (s, r) => W.serial(ctx, s, op, pinned, r));
        if (op === 'state' && !pinned) {
          // the CPU target's figure: every system's blocks alternated by one client
          const paired = alive(list);
          const ms = await W.pairedState(ctx, paired);
          ms.forEach((m, i) => record(paired[i], m));
        }
      }
    }
    if (workloads.has('conc')) for (const n of [1, 4, 16, 64]) await interleave(rpcSystems, (s, r) => W.conc(ctx, s, n, r));
    if (workloads.has('churn')) await interleave(rpcSystems, (s, r) => W.churn(ctx, s, r));
    if (workloads.has('burst')) await interleave(rpcSystems, (s, r) => W.burst(ctx, s, r));
    if (workloads.has('flood')) await interleave(rpcSystems, (s, r) => W.flood(ctx, s, r));
    if (workloads.has('soak')) for (const s of alive(rpcSystems)) record(s, await W.soak(ctx, s, rssIdle.get(s.id) ?? null, rssIdleRaw.get(s.id) ?? null));
  } finally {
    for (const h of holders) await h().catch(() => undefined);
    for (const s of systems) await s.stop().catch(() => undefined);
    await floor?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }

  const rows = aggregate(measurements);
  for (const r of rows) {
    const why = r.notes.find((n) => !n.startsWith('VBoxManage calls'));
    if (r.errors || r.hangs) failures.push(`${r.system} ${r.workload} ${r.variant}: ${r.errors} errors, ${r.hangs} hangs${why ? ' (' + why + ')' : ''}`);
  }
  const targets = evaluateTargets(rows, { profiles, burstVms: ctx.burstVms, startSerialFraction: o.startSerialFraction });
  const report: BenchReport = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick,
    machine,
    config: {
      rounds,
      vms: ctx.vms,
      running: Math.ceil(ctx.vms / ctx.startEvery),
      serialSeconds: ctx.serialSeconds,
      concSeconds: ctx.concSeconds,
      churnSeconds: ctx.churnSeconds,
      maasSweeps: ctx.maasSweeps,
      burstVms: ctx.burstVms,
      soakSeconds: ctx.soakSeconds,
      soakConns: ctx.soakConns,
      flood: `${ctx.floodClients}x${ctx.floodPerClient}`,
      pinned: o.pinned && !quick,
      cacheTtlMs: o.cacheTtl ?? null,
      profiles: profiles.map((p) => p.name),
      client: 'python3-libvirt threads (W1-W3, W6) and virsh processes (W4, W5, W6b)',
      daemonNodeArgs: daemonNodeArgs.join(' '),
      simulatorFrontEnd: o.slowSim ? 'node bin/vboxsim.js per call' : 'bench/fastsim (compiled client, one simulator process)',
    },
    systems: sysInfo,
    rows: rows.map((r) => { const { samples: _s, ...rest } = r; return { ...rest, ratioToA: r.system === 'A' ? 1 : ratioToA(rows, r) }; }),
    measurements: measurements.map(({ samples: _s, ...m }) => m),
    targets,
    failures,
    ok: failures.length === 0,
  };
  const md = renderMarkdown(report, rows);
  writeFileSync(path.join(outDir, 'report.md'), md);
  writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'latency.svg'), renderSvg(rows, sysInfo.map((s) => s.id), `vboxvirt bench ${startedAt}`));
  process.stdout.write(md + '\n');
  for (const t of targets) {
    process.stdout.write(`${t.pass === null ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.value === null ? 'n/a' : t.value.toFixed(2)} ${t.unit} (limit ${t.op} ${t.limit === null ? 'n/a' : t.limit.toFixed(2)})\n`);
  }
  process.stdout.write(`\nresults: ${path.join(outDir, 'report.md')}, results.json, latency.svg\n`);
  if (failures.length) {
    process.stdout.write(`\n${failures.length} failure(s):\n` + failures.map((f) => '  - ' + f.split('\n')[0]).join('\n') + '\n');
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
