#!/usr/bin/python3
"""Closed-loop libvirt client load generator for `npm run bench` (bench/run.ts).

The same client (python3-libvirt, i.e. the libvirt C library) drives every system
under test, as the anchors in ../shared/spec/performance.md were measured.

Protocol with the parent (one JSON object per line):
  child  -> {"event":"ready", ...}   connections are open, nothing measured yet
  parent -> "go"                     the parent has sampled the server's /proc stats
  child  -> {"event":"rest", ...}    (--phases P > 1, after each phase but the last) every call has
                                     returned; the connections are open and idle
  parent -> "resume"                 the next load phase starts
  child  -> {"event":"done", ...}    the measured window is over (connections still open)
  parent -> "close" (or EOF)         the child closes its connections and exits

Modes:
  hold    open one connection (optionally define/start test-driver domains), idle until EOF
  serial  one connection, one op in a closed loop
  conc    N connections, one thread each, closed loop
  churn   open + (virsh-like prologue) + close in a loop; the parent holds another connection
  paired  one connection to each of several servers (--uri and --pid once per server, same order),
          lookup+state in blocks of --block-warm + --block calls, alternating between the servers
          --cycles times (each cycle in a rotated order); every server's CPU is read around both
          parts of each of its blocks from /proc/PID/task/*/schedstat (ns), so that all servers
          are measured under the same machine conditions, minutes of drift cancelled block by block
  soak    N connections, closed loop over a mix of ops, for a long time
"""
import argparse
import json
import os
import random
import sys
import threading
import time

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the parent
    sys.stdout.write(json.dumps({"event": "error", "error": "python3-libvirt is not installed (apt-get install python3-libvirt)"}) + "\n")
    sys.stdout.flush()
    sys.exit(3)

# Silence libvirt's default error printer: errors are counted, not printed.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

HANG_US = 30_000_000  # MAAS's pexpect gives up after 30 s: a call slower than that is a hang
SAMPLE_MAX = 4000


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def wait_line(expected):
    line = sys.stdin.readline()
    if not line:
        return False
    return line.strip() == expected


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def summarize(lat_us):
    s = sorted(lat_us)
    sample = s if len(s) <= SAMPLE_MAX else [s[int(i * (len(s) - 1) / (SAMPLE_MAX - 1))] for i in range(SAMPLE_MAX)]
    return {
        "count": len(s),
        "p50_us": pct(s, 50),
        "p90_us": pct(s, 90),
        "p99_us": pct(s, 99),
        "max_us": s[-1] if s else None,
        "mean_us": (sum(s) / len(s)) if s else None,
        "sample_us": sample,
    }


def test_domain_xml(name):
    return ("<domain type='test'><name>%s</name><memory unit='MiB'>512</memory>"
            "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>" % name)


class Errors:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.hangs = 0
        self.samples = []

    def add(self, msg):
        with self.lock:
            self.count += 1
            if len(self.samples) < 10 and msg not in self.samples:
                self.samples.append(msg)

    def hang(self):
        with self.lock:
            self.hangs += 1

    def json(self):
        return {"errors": self.count, "hangs": self.hangs, "error_samples": self.samples}


def make_op(conn, op, names):
    """Returns (fn, rpcs_per_op). fn(i) performs one op."""
    if op == "state":  # lookupByName + state(): what `virsh domstate` sends after the prologue
        def fn(i):
            conn.lookupByName(names[i % len(names)]).state()
        return fn, 2
    if op == "list":
        def fn(_i):
            conn.listAllDomains(0)
        return fn, 1
    doms = [conn.lookupByName(n) for n in names]
    if op == "getstate":
        def fn(i):
            doms[i % len(doms)].state()
        return fn, 1
    if op == "dumpxml":
        def fn(i):
            doms[i % len(doms)].XMLDesc(0)
        return fn, 1
    raise SystemExit("unknown op " + op)


def closed_loop(fn, deadline_ns, max_ops, lat, errors, offset):
    i = offset
    n = 0
    while n < max_ops:
        t0 = time.perf_counter_ns()
        if t0 >= deadline_ns:
            break
        try:
            fn(i)
        except libvirt.libvirtError as e:
            errors.add(str(e))
        dt = (time.perf_counter_ns() - t0) // 1000
        if dt > HANG_US:
            errors.hang()
        lat.append(dt)
        i += 1
        n += 1


def warm_up(fn, seconds, max_calls, errors):
    """Unmeasured calls for `seconds` (at most max_calls), so that every server is measured in
    its steady state (a JIT-compiled daemon needs a few thousand calls)."""
    end = time.perf_counter() + seconds
    for i in range(max_calls if seconds > 0 else 0):
        if time.perf_counter() > end:
            break
        try:
            fn(i)
        except libvirt.libvirtError as e:
            errors.add(str(e))


def names_of(args):
    return ["%s%03d" % (args.prefix, i) for i in range(args.names)]


def mode_hold(args):
    conn = libvirt.open(args.uri)
    defined = 0
    if args.define:
        existing = set(d.name() for d in conn.listAllDomains(0))
        for i in range(args.define):
            name = "%s%03d" % (args.prefix, i)
            if name not in existing:
                conn.defineXML(test_domain_xml(name))
                defined += 1
        for i in range(0, args.define, args.start_every) if args.start_every else []:
            d = conn.lookupByName("%s%03d" % (args.prefix, i))
            if not d.isActive():
                d.create()
    emit({"event": "ready", "defined": defined, "domains": len(conn.listAllDomains(0))})
    wait_line("close")
    conn.close()


def mode_serial(args):
    conn = libvirt.open(args.uri)
    fn, rpcs = make_op(conn, args.op, names_of(args))
    errors = Errors()
    warm_up(fn, args.warm, min(5000, args.max), errors)
    emit({"event": "ready"})
    if not wait_line("go"):
        return
    lat = []
    t0 = time.perf_counter_ns()
    closed_loop(fn, t0 + int(args.duration * 1e9), args.max, lat, errors, 0)
    wall = (time.perf_counter_ns() - t0) / 1e9
    res = {"event": "done", "ops": len(lat), "rpcs_per_op": rpcs, "wall_s": wall,
           "ops_per_s": len(lat) / wall if wall > 0 else 0}
    res.update(summarize(lat))
    res.update(errors.json())
    emit(res)
    wait_line("close")
    conn.close()


def mode_conc(args, soak=False):
    names = names_of(args)
    errors = Errors()
    conns = []
    for _ in range(args.conns):
        conns.append(libvirt.open(args.uri))
    fns = []
    for c in conns:
        if soak:
            state_fn, _ = make_op(c, "state", names)
            list_fn, _ = make_op(c, "list", names)
            rnd = random.Random(len(fns))

            def mix(i, state_fn=state_fn, list_fn=list_fn, rnd=rnd):
                # MAAS-like mix: mostly lookup+state, sometimes a full listing
                if rnd.random() < 0.1:
                    list_fn(i)
                else:
                    state_fn(i)
            fns.append((mix, 2))
        else:
            fns.append(make_op(c, args.op, names))
    emit({"event": "ready", "conns": len(conns)})
    if not wait_line("go"):
        return
    lats = [[] for _ in conns]
    phases = max(1, args.phases)
    wall = 0.0
    stuck = 0
    for phase in range(phases):
        if phase > 0:
            # a rest between load phases: every worker has returned, the connections stay
            # open and idle while the parent samples the server
            emit({"event": "rest", "phase": phase})
            if not wait_line("resume"):
                return
        start_evt = threading.Event()
        deadline = [0]

        def worker(k, start_evt=start_evt, deadline=deadline):
            start_evt.wait()
            closed_loop(fns[k][0], deadline[0], 1 << 62, lats[k], errors, k * 7 + len(lats[k]))

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(len(conns))]
        for t in threads:
            t.start()
        t0 = time.perf_counter_ns()
        deadline[0] = t0 + int(args.duration / phases * 1e9)
        start_evt.set()
        for t in threads:
            t.join(timeout=max(0.0, (deadline[0] - time.perf_counter_ns()) / 1e9) + HANG_US / 1e6 + 5)
            if t.is_alive():
                stuck += 1
        wall += (time.perf_counter_ns() - t0) / 1e9
        if stuck:
            break
    all_lat = [x for l in lats for x in l]
    res = {"event": "done", "conns": len(conns), "ops": len(all_lat), "rpcs_per_op": fns[0][1] if fns else 0,
           "wall_s": wall, "ops_per_s": len(all_lat) / wall if wall > 0 else 0, "stuck_threads": stuck}
    res.update(summarize(all_lat))
    res.update(errors.json())
    res["hangs"] += stuck
    emit(res)
    if stuck:
        # os._exit: stuck threads hold libvirt calls that will never return
        os._exit(4)
    wait_line("close")
    for c in conns:
        try:
            c.close()
        except libvirt.libvirtError:
            pass


def cpu_ns(pid):
    """Time on CPU of every thread of PID so far, in ns (schedstat: exact, not tick-sampled)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between listdir and open
    return total


def mode_paired(args):
    if len(args.uri) != len(args.pid or []):
        raise SystemExit("paired: give --pid once per --uri")
    names = names_of(args)
    servers = []  # (conn, fn, errors) per server
    rpcs = 2
    for uri in args.uri:
        conn = libvirt.open(uri)
        fn, rpcs = make_op(conn, "state", names)
        servers.append((conn, fn, Errors()))
    for _conn, fn, errors in servers:
        warm_up(fn, args.warm, 5000, errors)
    time.sleep(0.5)  # what the warm-up left for later (a collection) is done before the window
    emit({"event": "ready"})
    if not wait_line("go"):
        return
    start = [cpu_ns(pid) for pid in args.pid]
    k = len(servers)
    # per server, per block: [cpu_ns, calls, wall_ns] of the measured calls, then [cpu_ns, calls]
    # of the --block-warm calls before them (after the server sat idle while the others ran)
    blocks = [[] for _ in range(k)]
    offset = 0

    def run(fn, errors, first, n):
        for i in range(first, first + n):
            t1 = time.perf_counter_ns()
            try:
                fn(i)
            except libvirt.libvirtError as e:
                errors.add(str(e))
            if (time.perf_counter_ns() - t1) // 1000 > HANG_US:
                errors.hang()

    for c in range(args.cycles):
        for j in range(k):
            s = (c + j) % k  # rotated: every server takes every position in a cycle equally often
            _conn, fn, errors = servers[s]
            pid = args.pid[s]
            c0 = cpu_ns(pid)
            run(fn, errors, offset, args.block_warm)
            c1 = cpu_ns(pid)
            t0 = time.perf_counter_ns()
            run(fn, errors, offset + args.block_warm, args.block)
            wall = time.perf_counter_ns() - t0
            blocks[s].append([cpu_ns(pid) - c1, args.block, wall, c1 - c0, args.block_warm])
        offset += args.block_warm + args.block
    # the whole window too: work a server put off until after its block (a concurrent
    # collection, a sweep in idle time) falls in no block but is part of its cost
    time.sleep(0.5)
    total = [cpu_ns(pid) - c0 for pid, c0 in zip(args.pid, start)]
    emit({"event": "done", "rpcs_per_op": rpcs, "blocks": blocks, "window_cpu_ns": total,
          "per_server": [errors.json() for _c, _f, errors in servers],
          "errors": sum(e.count for _c, _f, e in servers), "hangs": sum(e.hangs for _c, _f, e in servers)})
    wait_line("close")
    for conn, _fn, _errors in servers:
        conn.close()


def mode_churn(args):
    errors = Errors()

    def one():
        c = libvirt.open(args.uri)
        # virsh's prologue beyond virConnectOpen: it registers a close callback
        # (CONNECT_REGISTER_CLOSE_CALLBACK) and unregisters it before CONNECT_CLOSE.
        c.registerCloseCallback(lambda *_a: None, None)
        c.unregisterCloseCallback()
        c.close()

    for _ in range(5):
        try:
            one()
        except libvirt.libvirtError as e:
            errors.add(str(e))
    emit({"event": "ready"})
    if not wait_line("go"):
        return
    lat = []
    t0 = time.perf_counter_ns()
    closed_loop(lambda _i: one(), t0 + int(args.duration * 1e9), args.max, lat, errors, 0)
    wall = (time.perf_counter_ns() - t0) / 1e9
    res = {"event": "done", "ops": len(lat), "wall_s": wall, "ops_per_s": len(lat) / wall if wall > 0 else 0}
    res.update(summarize(lat))
    res.update(errors.json())
    emit(res)
    wait_line("close")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["hold", "serial", "conc", "churn", "soak", "paired"])
    ap.add_argument("--uri", required=True, action="append", help="paired: once per server; other modes: once")
    ap.add_argument("--pid", type=int, action="append", help="paired: the server's pid, once per --uri")
    ap.add_argument("--block", type=int, default=1000, help="paired: lookup+state calls measured per block")
    ap.add_argument("--block-warm", type=int, default=0, help="paired: calls before them in each block, measured apart")
    ap.add_argument("--cycles", type=int, default=16, help="paired: blocks per server")
    ap.add_argument("--op", default="state")
    ap.add_argument("--names", type=int, default=100, help="domains named PREFIX000..")
    ap.add_argument("--prefix", default="vm-")
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--warm", type=float, default=1.0, help="serial: seconds of unmeasured calls first")
    ap.add_argument("--max", type=int, default=1 << 62)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--phases", type=int, default=1, help="conc/soak: split the duration into this many load phases, "
                    "with a rest between them (child: {\"event\":\"rest\"}, parent: \"resume\")")
    ap.add_argument("--define", type=int, default=0, help="hold: define this many test-driver domains")
    ap.add_argument("--start-every", type=int, default=0, help="hold: start every k-th defined domain")
    args = ap.parse_args()
    if args.mode != "paired":
        if len(args.uri) != 1:
            ap.error("--uri once (several only with paired)")
        args.uri = args.uri[0]
    try:
        if args.mode == "hold":
            mode_hold(args)
        elif args.mode == "serial":
            mode_serial(args)
        elif args.mode == "conc":
            mode_conc(args)
        elif args.mode == "soak":
            mode_conc(args, soak=True)
        elif args.mode == "paired":
            mode_paired(args)
        else:
            mode_churn(args)
    except libvirt.libvirtError as e:
        emit({"event": "error", "error": str(e)})
        sys.exit(2)


if __name__ == "__main__":
    main()
