#!/usr/bin/python3
"""Drive virsh exactly the way MAAS's virsh power driver does (../shared/spec/maas.md §2-§3).

Run with /usr/bin/python3 (python3-pexpect). Input: one JSON object on stdin;
output: one JSON object on stdout.

  {"mode": "session", "uri": U, "steps": [{"send": "domstate vm1"}, {"idle": 45}, ...], "quit": false}
      -> {"login": true, "outputs": [{"cmd": "domstate vm1", "output": "running"}, ...]}
  {"mode": "power", "action": "query"|"on"|"off"|"cycle", "uri": U, "power_id": "vm1"}
      -> {"result": "on"|"off", "error": null|"...", "sessions": [[{"cmd":..., "output":...}, ...], ...]}

Session mechanics copied from MAAS (VirshSSH): spawn `virsh --connect URI?command=/usr/lib/maas/unverified-ssh`
with LC_ALL=LANG=LANGUAGE=C.UTF-8 and no TERM, timeout 30, maxread 2000; expect the prompt `virsh \\#`;
each command: sendline, expect prompt, output = text before the prompt stripped, minus the echoed first line.
Sessions are dropped without `quit` (pexpect object closed), like MAAS.
"""
import json
import os
import sys
import time

import pexpect

PROMPT = r"virsh \#"
PROMPTS = [
    r"(?i)are you sure you want to continue connecting",
    r"(?i)(?:password)|(?:passphrase for key)",
    PROMPT,
    r"(?i)permission denied, please try again",
    r"(?i)connection closed by remote host",
    pexpect.TIMEOUT,
    pexpect.EOF,
]
STATES = {
    "running": "on", "in shutdown": "on",
    "shut off": "off", "no state": "off", "idle": "off", "paused": "off", "crashed": "off", "pmsuspended": "off",
}


class VirshError(Exception):
    pass


def env():
    e = dict(os.environ)
    e.pop("TERM", None)
    e["LC_ALL"] = e["LANG"] = e["LANGUAGE"] = "C.UTF-8"
    return e


class Session:
    def __init__(self, uri, log):
        self.log = log
        addr = uri + "?command=/usr/lib/maas/unverified-ssh"
        self.child = pexpect.spawn("virsh", ["--connect", addr], timeout=30, maxread=2000, env=env())
        i = self.child.expect(PROMPTS, timeout=30)
        self.ok = (i == 2)
        self.banner = (self.child.before or b"").decode("utf-8", "replace")

    def run(self, cmd):
        self.child.sendline(cmd)
        self.child.expect(PROMPT, timeout=30)
        out = self.child.before.decode("utf-8").strip()
        out = "\n".join(out.splitlines()[1:])
        self.log.append({"cmd": cmd, "output": out})
        return out

    def drop(self, quit=False):
        if quit:
            self.child.sendline("quit")
            self.child.expect(pexpect.EOF, timeout=30)
        self.child.close(force=True)


def login(uri, log):
    s = Session(uri, log)
    if not s.ok:
        s.drop()
        raise VirshError("Failed to login to virsh console.")
    return s


def get_state(uri, pid, sessions):
    log = []
    sessions.append(log)
    s = login(uri, log)
    try:
        out = s.run("domstate %s" % pid)
    finally:
        s.drop()
    if out.startswith("error:"):
        raise VirshError("Failed to get domain: %s" % pid)
    if out not in STATES:
        raise VirshError("Unknown state: %s" % out)
    return STATES[out]


def poweron(uri, pid, sessions):
    log = []
    sessions.append(log)
    s = login(uri, log)
    try:
        state = s.run("domstate %s" % pid)
        if state.startswith("error:"):
            raise VirshError("%s: Failed to get power state" % pid)
        if state == "shut off":
            if s.run("start %s" % pid).startswith("error:"):
                raise VirshError("%s: Failed to power on VM" % pid)
    finally:
        s.drop()


def poweroff(uri, pid, sessions):
    log = []
    sessions.append(log)
    s = login(uri, log)
    try:
        state = s.run("domstate %s" % pid)
        if state.startswith("error:"):
            raise VirshError("%s: Failed to get power state" % pid)
        if state == "running":
            if s.run("destroy %s" % pid).startswith("error:"):
                raise VirshError("%s: Failed to power off VM" % pid)
    finally:
        s.drop()


def perform_power(fn, want, uri, pid, sessions):
    # PowerDriver.perform_power: act, pause, query; waits 1,2,2,4,6,8,12
    for wait in (1, 2, 2, 4, 6, 8, 12):
        fn(uri, pid, sessions)
        time.sleep(wait)
        if get_state(uri, pid, sessions) == want:
            return
    raise VirshError("Failed to power %s. BMC never transitioned from %s to %s." % (want, "off" if want == "on" else "on", want))


def main():
    req = json.load(sys.stdin)
    uri = req["uri"]
    if req["mode"] == "session":
        log = []
        try:
            s = login(uri, log)
        except VirshError as e:
            print(json.dumps({"login": False, "error": str(e), "outputs": log}))
            return
        for step in req["steps"]:
            if "idle" in step:
                time.sleep(step["idle"])
            else:
                s.run(step["send"])
        s.drop(quit=req.get("quit", False))
        print(json.dumps({"login": True, "banner": s.banner, "outputs": log}))
        return
    action, pid = req["action"], req["power_id"]
    sessions = []
    result, error = None, None
    try:
        if action == "on":
            perform_power(poweron, "on", uri, pid, sessions)
        elif action == "off":
            perform_power(poweroff, "off", uri, pid, sessions)
        elif action == "cycle":
            # MAAS cycle: query; if on: off (perform) ; then on (perform)
            if get_state(uri, pid, sessions) == "on":
                perform_power(poweroff, "off", uri, pid, sessions)
            perform_power(poweron, "on", uri, pid, sessions)
        elif action != "query":
            raise VirshError("unknown action %s" % action)
        result = get_state(uri, pid, sessions)  # maas-power always queries at the end
    except VirshError as e:
        error = str(e)
    print(json.dumps({"result": result, "error": error, "sessions": sessions}))


if __name__ == "__main__":
    main()
