/**
 * python3-libvirt (Debian's, under `/usr/bin/python3`) drives the real evirt service over
 * libvirt's protocol: open, listAllDomains, lookupByName, info, XMLDesc, blockInfo (the same
 * numbers as the HTTP API), getAllDomainStats, a lifecycle callback through
 * `virEventRegisterDefaultImpl`, and keepalive surviving an idle period
 * (`EVIRT_RPC_IDLE_SECONDS`, default 30).
 *
 * @module
 */

import assert from "node:assert/strict";
import { runChild } from "../support/child_process.ts";
import { testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { socketUri } from "../support/virsh.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../support/python_libvirt.ts";

const IDLE_SECONDS = Number(Deno.env.get("EVIRT_RPC_IDLE_SECONDS") ?? "30");

const SCRIPT = `
import json, sys, threading, time
import libvirt

uri, idle = sys.argv[1], float(sys.argv[2])
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()

conn = libvirt.open(uri)
# Keepalive every second, dead after 3 missed answers: the idle period must not end it.
conn.setKeepAlive(1, 3)
closed = []
conn.registerCloseCallback(lambda c, reason, opaque: closed.append(reason), None)
out = {}
out["names"] = sorted(d.name() for d in conn.listAllDomains())
dom = conn.lookupByName("web")
out["info"] = dom.info()
out["xml_has_name"] = "<name>web</name>" in dom.XMLDesc()
out["block"] = dom.blockInfo("vda")
out["stats"] = {d.name(): stats for d, stats in conn.getAllDomainStats()}
seen = []
done = threading.Event()
def callback(c, d, event, detail, opaque):
    seen.append([d.name(), event, detail])
    if len(seen) >= 2:
        done.set()
cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback, None)
dom.create()
dom.destroy()
done.wait(10)
out["events"] = seen
conn.domainEventDeregisterAny(cb)
time.sleep(idle)
out["alive_after_idle"] = conn.isAlive()
out["closed"] = closed
out["hostname_after_idle"] = conn.getHostname()
print(json.dumps(out))
`;

testIf(
  "python3-libvirt reads, starts and follows evirt over libvirt's protocol",
  pythonLibvirtSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    try {
      await Deno.writeFile(`${base}/web.img`, new Uint8Array(3 << 20));
      await service.client.define({
        xml: `<domain type='test'><name>web</name><memory unit='KiB'>524288</memory>
<vcpu>1</vcpu><os><type>hvm</type></os><devices>
<disk type='file' device='disk'><source file='${base}/web.img'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>`,
      });
      await Deno.writeTextFile(`${base}/client.py`, SCRIPT);
      const output = await runChild(
        SYSTEM_PYTHON,
        [`${base}/client.py`, socketUri(`${dirs.runtimeDir}/libvirt-sock`), String(IDLE_SECONDS)],
        {},
        (IDLE_SECONDS + 60) * 1000,
      );
      assert.equal(output.code, 0, output.stderr);
      const result = JSON.parse(output.stdout);
      assert.deepEqual(result.names, ["web"]);
      assert.deepEqual(result.info, [5, 524288, 524288, 1, 0]);
      assert.equal(result.xml_has_name, true);
      const http = await service.client.blockInfo("web", "vda");
      assert.deepEqual(result.block, [
        http.capacityBytes,
        http.allocationBytes,
        http.physicalBytes,
      ]);
      assert.deepEqual(result.stats.web["state.state"], 5);
      assert.deepEqual(result.events, [["web", 2, 0], ["web", 5, 1]]);
      assert.equal(result.alive_after_idle, 1);
      assert.deepEqual(result.closed, []);
      assert.equal(typeof result.hostname_after_idle, "string");
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
