#!/usr/bin/python3
"""MAAS's virsh KVM-host (pod) driver and add-chassis, replayed through a real
interactive `virsh` in a pty and PARSED the way MAAS parses it
(../shared/spec/maas.md §4, §5.1-§5.4). Run with /usr/bin/python3 (python3-pexpect).

Input: one JSON object on stdin; output: one JSON object on stdout:
  {"mode": "discover", "uri": U, "style": "3.x"|"2.8"}
      -> {"ok": true, "pod": {DiscoveredPod-like}, "commands": [{"cmd", "output"}...]}
  {"mode": "chassis", "uri": U, "prefix": ""}
      -> {"ok": true, "nodes": [create_node(...) args], "defined": [{"name", "xml"}], "commands": [...]}
  {"mode": "compose", "uri": U, "request": {"hostname", "cores", "memory", "architecture",
                                            "block_devices": [bytes...], "interfaces": [{}...],
                                            "default_pool": pod's default storage pool or null}}
      -> {"ok": true, "machine": {...}, "hints": {...}, "commands": [...]}
  {"mode": "decompose", "uri": U, "power_id": V}
      -> {"ok": true, "hints": {...}, "commands": [...]}
On a MAAS-side failure: {"ok": false, "error": "<exception class>: <message>", "commands": [...]}.

Session mechanics as MAAS's VirshSSH: spawn `virsh --connect ADDR` (pod driver: ADDR + "?command=
/usr/lib/maas/unverified-ssh"; add-chassis: ADDR as given), env without TERM and with
LC_ALL=LANG=LANGUAGE=C.UTF-8, timeout 30, maxread 2000, prompt `virsh \\#`; run(args) = sendline of
" ".join(args) (no quoting), output = text before the next prompt, stripped, minus the echoed line;
an output starting with "error:" raises VirshError (3.1+; raise_error=False returns "").
XML is parsed from a str with xml.etree; like lxml, a str carrying an encoding declaration is refused.
"""
import json
import os
import re
import sys
import tempfile
import uuid as uuidlib
import random
import xml.etree.ElementTree as ET

import pexpect

# MAAS's prompt list and state map: one copy, in the power-driver replay beside this file.
from maas_virsh import PROMPT, PROMPTS, STATES as VM_STATE_TO_POWER_STATE, VirshError, env as maas_env  # noqa: E402

# kernel_to_debian_architecture (provisioningserver.utils) — a KeyError for anything else
KERNEL_TO_DEBIAN = {
    "i686": "i386/generic", "x86_64": "amd64/generic", "aarch64": "arm64/generic",
    "ppc64le": "ppc64el/generic", "s390x": "s390x/generic", "mips": "mips/generic",
    "mips64": "mips64el/generic",
}
DEBIAN_TO_KERNEL = {v: k for k, v in KERNEL_TO_DEBIAN.items()}
SUPPORTED_STORAGE_TYPES = ("dir", "logical", "zfs")

# MAAS's DOM_TEMPLATE_AMD64 (drivers/pod/virsh.py), same shape and formatting
DOM_TEMPLATE_AMD64 = """\
<domain type="{type}">
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit="MiB">{memory}</memory>
  <vcpu>{cores}</vcpu>
  <cpu mode="host-passthrough"/>
  <os>
    <type arch="{arch}">hvm</type>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <clock offset="utc"/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <pm>
    <suspend-to-mem enabled="no"/>
    <suspend-to-disk enabled="no"/>
  </pm>
  <devices>
    <emulator>{emulator}</emulator>
    <controller type="pci" index="0" model="pci-root"/>
    <controller type="virtio-serial" index="0">
      <address type="pci" domain="0x0000"
        bus="0x00" slot="0x05" function="0x0"/>
    </controller>
    <serial type="pty">
      <log file="/var/log/libvirt/qemu/{name}-serial0.log" append="off" />
      <target port="0"/>
    </serial>
    <console type="pty">
      <target type="serial" port="0"/>
    </console>
    <channel type="spicevmc">
      <target type="virtio" name="com.redhat.spice.0"/>
      <address type="virtio-serial" controller="0" bus="0" port="1"/>
    </channel>
    <input type="tablet" bus="usb"/>
    <input type="mouse" bus="ps2"/>
    <input type="keyboard" bus="ps2"/>
    <graphics type="spice" autoport="yes"/>
    <video>
      <model type="qxl" ram="65536" vram="65536" vgamem="16384" heads="1"/>
    </video>
    <memballoon model="virtio"/>
  </devices>
</domain>
"""




class PodInvalidResources(Exception):
    pass




def xml_from_str(text):
    """lxml's etree.XML(str): refuses a str with an encoding declaration."""
    if re.match(r"\s*<\?xml[^>]*encoding=", text):
        raise ValueError("Unicode strings with encoding declaration are not supported.")
    return ET.fromstring(text)


class Virsh:
    def __init__(self, uri, log, pod=True, raise_on_error=True):
        self.log = log
        self.raise_on_error = raise_on_error  # 3.1+ behaviour
        self.xml = {}
        addr = uri + "?command=/usr/lib/maas/unverified-ssh" if pod else uri
        self.child = pexpect.spawn("virsh --connect " + addr, timeout=30, maxread=2000, env=maas_env())
        i = self.child.expect(PROMPTS, timeout=30)
        if i != 2:
            self.child.close(force=True)
            raise VirshError("Failed to login to virsh console.")

    def run(self, args, raise_error=True):
        cmd = " ".join(args)
        self.child.sendline(cmd)
        self.child.expect([PROMPT, pexpect.TIMEOUT], timeout=30)
        out = self.child.before.decode("utf-8").strip()
        out = "\n".join(out.splitlines()[1:])
        self.log.append({"cmd": cmd, "output": out})
        if out.startswith("error:") and self.raise_on_error:
            if raise_error:
                raise VirshError("Virsh command %s failed: %s" % (args, out[7:]))
            return ""
        return out

    def quit(self):
        self.child.sendline("quit")
        self.child.close(force=True)

    def drop(self):
        self.child.close(force=True)

    # --- parsing helpers (MAAS) ---
    @staticmethod
    def column_values(data, keys):
        entries = [row.split() for row in data.strip().splitlines()]
        columns = entries[0]
        indexes = [columns.index(k) for k in keys]
        return [tuple(e[i] for i in indexes) for e in entries[2:]]

    @staticmethod
    def key_value(data, key):
        if data is not None:
            for d in data.strip().splitlines():
                if key == d.split(":")[0].strip():
                    return d.split(":")[1].strip()

    def key_value_unitless(self, data, key):
        v = self.key_value(data, key)
        if v:
            return v.split()[0]

    # --- pod driver ---
    def list_pools(self, style):
        if style == "2.8":
            out = self.run(["pool-list"])
        else:
            out = self.run(["pool-list", "--type", ",".join(SUPPORTED_STORAGE_TYPES)])
        return [p[0] for p in self.column_values(out, ["Name"])]

    def create_storage_pool(self):
        try:
            for c in (["pool-define-as", "maas", "dir", "- - - -", "/var/lib/libvirt/maas-images"],
                      ["pool-build", "maas"], ["pool-start", "maas"], ["pool-autostart", "maas"]):
                self.run(c)
        except VirshError:
            pass

    def storage_pools(self, style, with_available=False):
        pools = []
        for name in self.list_pools(style):
            out = self.run(["pool-dumpxml", name])
            if not out:
                continue
            doc = xml_from_str(out)
            pool = {
                "id": doc.find("uuid").text,
                "name": name,
                "path": doc.find("target/path").text,
                "type": doc.attrib["type"],
                "storage": int(doc.find("capacity").text),
            }
            if with_available:
                pool["available"] = int(doc.find("available").text)
            pools.append(pool)
        return pools

    def available_local_storage(self, style):
        total = 0
        for name in self.list_pools(style):
            doc = xml_from_str(self.run(["pool-dumpxml", name]).strip())
            total += int(doc.find("available").text)
        return total

    def nodeinfo(self):
        return self.run(["nodeinfo"])

    def pod_arch(self, nodeinfo):
        arch = self.key_value(nodeinfo, "CPU model")
        if arch is None:
            raise PodInvalidResources("Pod architecture is not supported: %s" % arch)
        return KERNEL_TO_DEBIAN[arch]  # KeyError for e.g. 'arm64', as MAAS

    def pod_numbers(self, nodeinfo):
        cores = self.key_value(nodeinfo, "CPU(s)")
        speed = self.key_value_unitless(nodeinfo, "CPU frequency")
        kib = self.key_value_unitless(nodeinfo, "Memory size")
        return (int(cores) if cores is not None else 0, int(speed) if speed is not None else 0,
                int(int(kib) / 1024) if kib is not None else 0)

    def server_version(self):
        for line in self.run(["version", "--daemon"]).splitlines():
            if line.startswith("Running against daemon"):
                return line.split()[-1]

    def pod_resources(self, style):
        nodeinfo = self.nodeinfo()
        pod = {"architectures": [self.pod_arch(nodeinfo)]}
        pod["cores"], pod["cpu_speed"], pod["memory"] = self.pod_numbers(nodeinfo)
        pod["storage_pools"] = self.storage_pools(style)
        pod["local_storage"] = sum(p["storage"] for p in pod["storage_pools"])
        pod["capabilities"] = ["composable", "dynamic_local_storage", "over_commit", "storage_pools"]
        pod["version"] = self.server_version() if style != "2.8" else None
        return pod

    def pod_hints(self, style):
        nodeinfo = self.nodeinfo()
        h = {}
        h["cores"], h["cpu_speed"], h["memory"] = self.pod_numbers(nodeinfo)
        h["local_storage"] = self.available_local_storage(style)
        return h

    def list_machines(self, prefix=""):
        return [m for m in self.run(["list", "--all", "--name"]).splitlines() if m.startswith(prefix)]

    def machine_xml(self, machine):
        if machine in self.xml:
            return self.xml[machine]
        try:
            out = self.run(["dumpxml", machine])
        except VirshError:
            return None
        self.xml[machine] = out
        return out

    def machine_arch(self, machine):
        out = self.machine_xml(machine)
        if out is None:
            return None
        return KERNEL_TO_DEBIAN[xml_from_str(out).find("os/type").attrib["arch"]]

    def machine_state(self, machine):
        try:
            return self.run(["domstate", machine])
        except VirshError:
            return None

    def discovered_machine(self, machine, style, storage_pools):
        m = {"hostname": machine, "architecture": self.machine_arch(machine)}
        cpu = self.key_value(self.run(["dominfo", machine]), "CPU(s)")
        m["cores"] = int(cpu) if cpu is not None else 0
        kib = self.key_value_unitless(self.run(["dominfo", machine]), "Max memory")
        m["memory"] = int(int(kib) / 1024) if kib is not None else 0
        m["power_state"] = VM_STATE_TO_POWER_STATE[self.machine_state(machine)]
        m["power_parameters"] = {"power_id": machine}
        if storage_pools is None:
            storage_pools = self.storage_pools(style)
        out = self.run(["domblklist", machine, "--details"])
        devices = [(d[1], d[2]) for d in self.column_values(out, ["Device", "Target", "Source"]) if d[0] == "disk"]
        blocks = []
        for device, source in devices:
            info = self.run(["domblkinfo", machine, device])
            size = None
            if info:
                try:
                    size = int(self.key_value(info, "Capacity"))
                except TypeError:
                    size = None
            if size is None:
                return None
            pool = next((p for p in storage_pools if source.startswith(p["path"])), None)
            blocks.append({"size": size, "id_path": "/dev/%s" % device, "source": source,
                           "storage_pool": pool["id"] if pool else None})
        m["block_devices"] = blocks
        try:
            out = self.run(["domiflist", machine])
        except VirshError:
            out = None
        ifs = []
        for i, (typ, source, model, mac) in enumerate(self.column_values(out, ["Type", "Source", "Model", "MAC"])):
            ifs.append({"mac_address": mac, "boot": i == 0, "attach_type": typ, "attach_name": source, "model": model})
        m["interfaces"] = ifs
        return m

    def configure_pxe_boot(self, machine, defined):
        """MAAS's configure_pxe_boot, with a real XML library."""
        xml = self.machine_xml(machine)
        if xml is None:
            return False
        doc = xml_from_str(xml)
        os_el = doc.find("os")
        boots = os_el.findall("boot")
        if len(boots) == 2 and boots[0].attrib["dev"] == "network" and boots[1].attrib["dev"] == "hd":
            return True
        for b in boots:
            os_el.remove(b)
        os_el.append(ET.fromstring("<boot dev='network'/>"))
        os_el.append(ET.fromstring("<boot dev='hd'/>"))
        with tempfile.NamedTemporaryFile() as f:
            f.write(ET.tostring(doc))
            f.write(b"\n")
            f.flush()
            with open(f.name, "rb") as r:
                defined.append({"name": machine, "xml": r.read().decode("utf-8")})
            try:
                self.run(["define", f.name])
            except VirshError:
                return False
            return True


def discover(v, style):
    if not v.list_pools(style):
        v.create_storage_pool()
    pod = v.pod_resources(style)
    pod["hints"] = v.pod_hints(style)
    machines = []
    for vm in v.list_machines():
        m = v.discovered_machine(vm, style, pod["storage_pools"])
        if m is not None:
            m["cpu_speed"] = pod["cpu_speed"]
            machines.append(m)
    pod["machines"] = machines
    pod["tags"] = ["virtual"]
    return pod


def chassis(v, uri, prefix, defined):
    """drivers/hardware/virsh.py probe_virsh_and_enlist (3.x): MAC = last token of each domiflist row."""
    nodes = []
    for machine in v.list_machines(prefix):
        arch = v.machine_arch(machine)
        state = v.machine_state(machine)
        out = v.run(["domiflist", machine])
        macs = [row.split()[-1] for row in out.splitlines()[2:] if row.split()]
        node = {"macs": macs, "arch": arch, "power_type": "virsh",
                "power_parameters": {"power_address": uri, "power_id": machine}, "hostname": machine,
                "state": state}
        if state == "running":
            v.run(["destroy", machine])
        node["pxe_configured"] = v.configure_pxe_boot(machine, defined)
        nodes.append(node)
    v.quit()
    return nodes


def generate_mac():
    return "52:54:00:%02x:%02x:%02x" % (random.randint(0, 255), random.randint(0, 255), random.randint(0, 255))


def compose(v, req, defined):
    style = "3.x"
    created = []
    for size in req["block_devices"]:
        pools = v.storage_pools(style, with_available=True)
        default_pool = req.get("default_pool")  # the pod's default storage pool (name or id), as MAAS passes it
        if default_pool:
            pools = [p for p in pools if p["id"] == default_pool] or [p for p in pools if p["name"] == default_pool]
            if not pools:
                raise VirshError("Default storage pool '%s' doesn't exist." % default_pool)
        usable = next((p for p in pools if size <= p["available"]), None)
        if usable is None:
            raise PodInvalidResources("Not enough storage space on any storage pools")
        volume = str(uuidlib.uuid4())
        extra = ["--allocation", "0", "--format", "raw"] if usable["type"] == "dir" else []
        v.run(["vol-create-as", usable["name"], volume, str(size)] + extra)
        created.append((usable["name"], volume))
    etype = "kvm"
    try:
        caps = v.run(["domcapabilities", "--virttype", etype])
    except VirshError:
        etype = "qemu"
        caps = v.run(["domcapabilities", "--virttype", etype])
    emulator = xml_from_str(caps).find("path").text
    params = {"type": etype, "emulator": emulator, "name": req["hostname"], "uuid": str(uuidlib.uuid4()),
              "arch": DEBIAN_TO_KERNEL[req.get("architecture", "amd64/generic")],
              "cores": str(req["cores"]), "memory": str(req["memory"])}
    domain_xml = DOM_TEMPLATE_AMD64.format(**params)
    with tempfile.NamedTemporaryFile() as f:
        f.write(domain_xml.encode("utf-8"))
        f.write(b"\n")
        f.flush()
        defined.append({"name": req["hostname"], "xml": domain_xml})
        v.run(["define", f.name])
    for _iface in req["interfaces"]:
        # attach_type None/network, no known host interfaces: 'maas' or 'default' libvirt network
        mac = generate_mac()
        networks = v.run(["net-list", "--name"]).splitlines()
        if "maas" in networks:
            net = "maas"
        elif "default" in networks:
            net = "default"
        else:
            v.run(["destroy", req["hostname"]])
            v.run(["undefine", req["hostname"]])
            raise PodInvalidResources("Please add a 'default' or 'maas' network")
        v.run(["attach-interface", req["hostname"], "network", net, "--mac", mac, "--model", "virtio", "--config"])
    for idx, (pool, volume) in enumerate(created):
        name = "vd" + "abcdefghijklmnopqrstuvwxyz"[idx]
        path = v.run(["vol-path", volume, "--pool", pool])
        v.run(["attach-disk", req["hostname"], path, name, "--targetbus", "virtio", "--sourcetype", "file",
               "--config", "--serial", os.path.basename(path)])
    try:
        v.run(["start", "--paused", req["hostname"]])
    except VirshError as e:
        delete_domain(v, req["hostname"])
        raise VirshError("Unable to compose %s: %s" % (req["hostname"], e))
    else:
        v.run(["destroy", req["hostname"]])
    try:
        v.run(["autostart", req["hostname"]])
    except VirshError:
        pass
    v.configure_pxe_boot(req["hostname"], defined)
    machine = v.discovered_machine(req["hostname"], style, None)
    hints = v.pod_hints(style)
    return machine, hints, created


def delete_domain(v, domain):
    v.run(["destroy", domain], raise_error=False)
    v.run(["undefine", domain, "--remove-all-storage", "--managed-save", "--nvram"], raise_error=False)


def main():
    req = json.load(sys.stdin)
    uri, mode = req["uri"], req["mode"]
    log, defined = [], []
    res = {"commands": log}
    v = None
    try:
        v = Virsh(uri, log, pod=(mode != "chassis"), raise_on_error=req.get("style") != "2.8")
        if mode == "discover":
            res["pod"] = discover(v, req.get("style", "3.x"))
        elif mode == "chassis":
            res["nodes"] = chassis(v, uri, req.get("prefix", ""), defined)
        elif mode == "compose":
            machine, hints, created = compose(v, req["request"], defined)
            res.update(machine=machine, hints=hints, volumes=[{"pool": p, "name": n} for p, n in created])
        elif mode == "decompose":
            delete_domain(v, req["power_id"])
            res["hints"] = v.pod_hints("3.x")
        else:
            raise ValueError("unknown mode %s" % mode)
        res["ok"] = True
    except Exception as e:  # report MAAS-side failures as data, like the rack would log them
        res["ok"] = False
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if v is not None:
            v.drop()
    res["defined"] = defined
    print(json.dumps(res))


if __name__ == "__main__":
    main()
