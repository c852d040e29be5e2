/**
 * A container on one of evirt's own networks, end to end: the service runs inside a network
 * namespace of the test's own (`ip netns exec`, with the host's cgroup hierarchies mounted again
 * in its mount namespace, since `ip netns exec` mounts a fresh `/sys`), `net-start` makes the
 * network's bridge there, and a container whose `<interface type='network'>` names it gets a veth
 * pair on that bridge: the container pings the network's address, the live XML names the bridge,
 * the host end and the name inside, `domifstat` counts the traffic, and `destroy` leaves only the
 * network's own links. The namespace, with everything in it, is removed in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type CgroupPaths,
  cgroupPids,
  planHostCgroup,
  removeCgroup,
} from "../../src/host/cgroups.ts";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { netnsSkipReason, withNetns } from "../support/netns.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { containerSkipReason, rootfsDir } from "./_lxc_rig.ts";

const NETWORK = "evlx";
const BRIDGE = "evlx0";
const GATEWAY = "10.214.9.1";
const GUEST = "10.214.9.2";
/** Longest wait for what the container writes, in ms. */
const WAIT_MS = 15_000;

/** Shell lines mounting this host's cgroup hierarchies again (fresh `/sys` of `ip netns exec`). */
function cgroupRemount(): string {
  const lines = ["mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup || exit 1"];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [before, after] = line.split(" - ");
    if (after === undefined) continue;
    const mountPoint = before.split(" ")[4];
    const [fsType, , options] = after.split(" ");
    if (!mountPoint?.startsWith("/sys/fs/cgroup/") || !/^cgroup2?$/.test(fsType)) continue;
    const wanted = fsType === "cgroup"
      ? options.split(",").filter((option) => option !== "rw" && option !== "ro").join(",")
      : "";
    lines.push(
      `mkdir -p ${mountPoint} && mount -t ${fsType} ${
        wanted === "" ? "" : `-o ${wanted} `
      }cgroup ${mountPoint} || exit 1`,
    );
  }
  return lines.join("\n");
}

/**
 * The container's program: ping the network's address (again, for up to 15 s: the network's
 * bridge runs STP, so a new port forwards only after the kernel's listening and learning delays),
 * then the test init.
 */
const PROBE = [
  "ok=1; i=0",
  `while [ $i -lt 15 ]; do if ping -c 1 -W 1 ${GATEWAY} > /data/ping.txt 2>&1; then ok=0; break; fi; i=$((i+1)); done`,
  "echo $ok > /data/ping.rc",
  "exec /sbin/evirt-init",
].join("; ");

function containerXml(data: string): string {
  return `<domain type='lxc'>
  <name>ct-onnet</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>${
    PROBE.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
  }</initarg></os>
  <devices>
    <filesystem type='mount'><source dir='${rootfsDir}'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='${data}'/><target dir='/data'/></filesystem>
    <interface type='network'>
      <source network='${NETWORK}'/>
      <ip address='${GUEST}' prefix='24'/>
    </interface>
    <console type='pty'/>
  </devices>
</domain>
`;
}

async function waitForFile(path: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const text = Deno.readTextFileSync(path);
      if (text.endsWith("\n")) return text;
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

testIf(
  "a container on a running evirt network: veth on its bridge, ping, live XML, domifstat, destroy",
  netnsSkipReason() ?? containerSkipReason() ?? missing("nsenter"),
  async () => {
    await withNetns(async (ns) => {
      const dirs = await serviceDirs();
      const base = dirs.stateDir.replace(/\/state$/, "");
      const data = `${base}/data`;
      Deno.mkdirSync(data);
      const launcher = [
        "ip",
        "netns",
        "exec",
        ns.name,
        "sh",
        "-c",
        `${cgroupRemount()}\nexec "$@"`,
        "sh",
      ];
      let service: ServiceProcess | undefined;
      let group: CgroupPaths | undefined;
      try {
        service = await startServiceProcess(dirs, { EVIRT_NETWORK_RUNTIME: "on" }, launcher);
        const evirt = (...args: string[]) =>
          runEvirt(args, { ...service!.env, EVIRT_DEFAULT_URI: "evirt:///system" });
        Deno.writeTextFileSync(
          `${base}/net.xml`,
          `<network><name>${NETWORK}</name><bridge name='${BRIDGE}'/>` +
            `<ip address='${GATEWAY}' prefix='24'/></network>`,
        );
        assert.equal((await evirt("net-define", `${base}/net.xml`)).code, 0);
        assert.equal((await evirt("net-start", NETWORK)).code, 0);
        Deno.writeTextFileSync(`${base}/ct.xml`, containerXml(data));
        const defined = await evirt("define", `${base}/ct.xml`);
        assert.equal(defined.code, 0, `${defined.stderr}\n${service.log()}`);
        group = planHostCgroup((await evirt("domuuid", "ct-onnet")).stdout.trim());
        const started = await evirt("start", "ct-onnet");
        assert.equal(started.code, 0, `${started.stderr}\n${service.log()}`);
        const id = Number((await evirt("domid", "ct-onnet")).stdout.trim());
        const hostEnd = `vnet${id}n0`;
        const live = (await evirt("dumpxml", "ct-onnet")).stdout;
        // Its network port, named in the live XML, as libvirt's LXC driver takes one.
        const portList = (await evirt("net-port-list", NETWORK)).stdout;
        const portid = portList.split("\n")[2]?.trim() ?? "";
        assert.match(portid, /^[0-9a-f-]{36}$/, portList);
        assert.match(
          live,
          new RegExp(`<source network='${NETWORK}' portid='${portid}' bridge='${BRIDGE}'/>`),
        );
        assert.match(live, new RegExp(`<target dev='${hostEnd}'/>`));
        assert.match(live, /<guest dev='eth0'\/>/);
        const rc = (await waitForFile(`${data}/ping.rc`)).trim();
        assert.equal(rc, "0", Deno.readTextFileSync(`${data}/ping.txt`));
        const ports = await ns.exec(["ip", "-o", "link", "show", "master", BRIDGE]);
        assert.match(ports.stdout, new RegExp(`${hostEnd}@`));
        const reply = await ns.exec([
          `${rootfsDir}/bin/busybox`,
          "ping",
          "-c",
          "1",
          "-W",
          "5",
          GUEST,
        ]);
        assert.equal(reply.code, 0, reply.stdout + reply.stderr);
        // Sampled every few seconds: wait for a sample that counts the pings.
        const deadline = Date.now() + WAIT_MS;
        let stats = "";
        while (Date.now() < deadline) {
          stats = (await evirt("domifstat", "ct-onnet", hostEnd)).stdout;
          const rx = Number(
            new RegExp(`^${hostEnd} rx_packets (\\d+)$`, "m").exec(stats)?.[1] ?? 0,
          );
          if (rx >= 1) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.match(stats, new RegExp(`^${hostEnd} rx_packets [1-9]`, "m"), stats);
        assert.match(stats, new RegExp(`^${hostEnd} tx_packets [1-9]`, "m"), stats);
        assert.equal((await evirt("destroy", "ct-onnet")).code, 0);
        const portDeadline = Date.now() + WAIT_MS;
        while (
          (await evirt("net-port-list", NETWORK)).stdout.includes(portid) &&
          Date.now() < portDeadline
        ) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.doesNotMatch((await evirt("net-port-list", NETWORK)).stdout, new RegExp(portid));
        assert.deepEqual(
          (await ns.links()).filter((name) => name.startsWith("vnet")),
          [],
          "a host end is left",
        );
        assert.equal((await evirt("net-destroy", NETWORK)).code, 0);
      } finally {
        if (service !== undefined) await service.stop("SIGTERM");
        if (group !== undefined) {
          for (const pid of cgroupPids(group)) Deno.kill(pid, "SIGKILL");
          await new Promise((resolve) => setTimeout(resolve, 100));
          removeCgroup(group);
        }
        await removeServiceDirs(dirs);
      }
    });
  },
);
