#!/usr/bin/python3
"""A python3-libvirt client run by test/integration/python-libvirt.test.ts.

stdin: {"uri": U, "running": "vm1", "stopped": "vm2", "missing": "nosuchvm"}
stdout: JSON with what each binding call returned (or its libvirtError's
code/domain/message). The test decides what is right; this script only reports.
"""
import json
import sys

import libvirt


def err(fn):
    try:
        fn()
    except libvirt.libvirtError as e:
        return {"code": e.get_error_code(), "domain": e.get_error_domain(), "message": e.get_error_message()}
    return None


def dom(d):
    return {"name": d.name(), "uuid": d.UUIDString(), "id": d.ID(), "active": d.isActive(),
            "persistent": d.isPersistent(), "state": list(d.state()), "info": list(d.info())}


def names(conn, flags):
    return sorted(d.name() for d in conn.listAllDomains(flags))


def main():
    req = json.load(sys.stdin)
    libvirt.registerErrorHandler(lambda ctx, e: None, None)  # keep stderr quiet
    conn = libvirt.open(req["uri"])
    out = {"uri": conn.getURI(), "type": conn.getType(), "hostname": conn.getHostname(),
           "libVersion": conn.getLibVersion(), "version": conn.getVersion(), "alive": conn.isAlive()}
    r = conn.lookupByName(req["running"])
    s = conn.lookupByName(req["stopped"])
    out["running"] = dom(r)
    out["stopped"] = dom(s)
    out["byUUID"] = conn.lookupByUUIDString(out["running"]["uuid"]).name()
    out["byUUIDStopped"] = conn.lookupByUUIDString(out["stopped"]["uuid"]).name()
    out["byID"] = conn.lookupByID(out["running"]["id"]).name()
    F = libvirt
    out["list"] = {
        "all": names(conn, 0),
        "active": names(conn, F.VIR_CONNECT_LIST_DOMAINS_ACTIVE),
        "inactive": names(conn, F.VIR_CONNECT_LIST_DOMAINS_INACTIVE),
        "running": names(conn, F.VIR_CONNECT_LIST_DOMAINS_RUNNING),
        "shutoff": names(conn, F.VIR_CONNECT_LIST_DOMAINS_SHUTOFF),
        "paused": names(conn, F.VIR_CONNECT_LIST_DOMAINS_PAUSED),
        "persistent": names(conn, F.VIR_CONNECT_LIST_DOMAINS_PERSISTENT),
        "transient": names(conn, F.VIR_CONNECT_LIST_DOMAINS_TRANSIENT),
    }
    out["errors"] = {
        "lookupMissingName": err(lambda: conn.lookupByName(req["missing"])),
        "lookupMissingUUID": err(lambda: conn.lookupByUUIDString("11111111-2222-3333-4444-555555555555")),
        "lookupMissingID": err(lambda: conn.lookupByID(4242)),
        "destroyStopped": err(s.destroy),
        "startRunning": err(r.create),
        "suspendStopped": err(s.suspend),
    }
    # lifecycle through the binding
    s.create()
    s2 = conn.lookupByName(req["stopped"])
    out["afterCreate"] = dom(s2)
    s2.destroy()
    out["afterDestroy"] = dom(conn.lookupByName(req["stopped"]))
    out["stillAlive"] = conn.isAlive()
    conn.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
