/**
 * The network runtime for real, inside a network namespace of the test's own: a nat network
 * with DHCP gets its bridge and address, a dnsmasq listening on the bridge address (DNS 53,
 * DHCP 67) and its nftables chains; a stop leaves the namespace's links and tables as before;
 * a start that fails leaves nothing; a stop with nothing recorded still finds dnsmasq by its
 * pid file (recovery of a start cut short).
 */

import { processRunning } from "../../support/child_process.ts";
import assert from "node:assert/strict";
import { testIf } from "../../support/environment.ts";
import { netnsSkipReason, type TestNamespace, withNetns } from "../../support/netns.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const skip = netnsSkipReason();
const WORKER = new URL("./_runtime_worker.ts", import.meta.url).pathname;

const NAT_XML = `<network>
  <name>evt-nat</name>
  <uuid>0e5d7c3a-3b44-4c71-9d0c-6a5a1e6f0a01</uuid>
  <forward mode='nat'/>
  <bridge name='evtbr0' stp='on' delay='0'/>
  <mac address='52:54:00:12:34:56'/>
  <ip address='10.213.7.1' netmask='255.255.255.0'>
    <dhcp><range start='10.213.7.10' end='10.213.7.20'/></dhcp>
  </ip>
</network>`;

const ISOLATED_XML = `<network>
  <name>evt-iso</name>
  <uuid>0e5d7c3a-3b44-4c71-9d0c-6a5a1e6f0a02</uuid>
  <bridge name='evtbr1'/>
  <ip address='10.213.8.1' prefix='24'/>
  <ip family='ipv6' address='fd00:213:8::1' prefix='64'/>
</network>`;

type WorkerResult = {
  ok?: { dnsmasq?: { pid: number; startTimeTicks: number } } & {
    intact?: boolean;
    problems?: string[];
  };
  error?: { code: number; message: string };
};

async function step(
  ns: TestNamespace,
  dir: string,
  operation: string,
  xml: string,
  state?: unknown,
): Promise<WorkerResult> {
  const xmlFile = `${dir}/${operation}-${crypto.randomUUID()}.xml`;
  await Deno.writeTextFile(xmlFile, xml);
  const args = [Deno.execPath(), "run", "--allow-all", WORKER, operation, `${dir}/state`, xmlFile];
  if (state !== undefined) args.push(JSON.stringify(state));
  const result = await ns.exec(args);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

testIf("network runtime: a nat network runs in a namespace and stops clean", skip, async () => {
  await withTempDir("evirt-netrt-", (dir) =>
    withNetns(async (ns) => {
      const linksBefore = await ns.links();
      const tablesBefore = await ns.tables();

      const started = await step(ns, dir, "start", NAT_XML);
      assert.equal(started.error, undefined, started.error?.message);
      const dnsmasq = started.ok?.dnsmasq;
      assert.ok(dnsmasq !== undefined && processRunning(dnsmasq.pid), "dnsmasq runs");

      const link = JSON.parse(
        (await ns.exec(["ip", "-j", "addr", "show", "dev", "evtbr0"])).stdout,
      )[0];
      assert.equal(link.address, "52:54:00:12:34:56");
      assert.ok(link.flags.includes("UP"));
      assert.deepEqual(
        link.addr_info.filter((a: { family: string }) => a.family === "inet").map((
          a: { local: string; prefixlen: number },
        ) => `${a.local}/${a.prefixlen}`),
        ["10.213.7.1/24"],
      );
      const stp = (await ns.exec(["cat", "/sys/class/net/evtbr0/bridge/stp_state"])).stdout.trim();
      assert.equal(stp, "1");

      const udp = (await ns.exec(["ss", "-H", "-lnup"])).stdout;
      assert.match(udp, /10\.213\.7\.1(%evtbr0)?:53\b/);
      assert.match(udp, /0\.0\.0\.0(%evtbr0)?:67\b/);
      const tcp = (await ns.exec(["ss", "-H", "-lntp"])).stdout;
      assert.match(tcp, /10\.213\.7\.1(%evtbr0)?:53\b/);

      const table = (await ns.exec(["nft", "list", "table", "inet", "evirt"])).stdout;
      for (const chain of ["input", "output", "forward", "postrouting"]) {
        assert.match(table, new RegExp(`chain br_evtbr0_${chain} `));
      }
      assert.match(table, /masquerade/);
      assert.equal((await ns.exec(["cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim(), "1");

      const check = await step(ns, dir, "check", NAT_XML, started.ok);
      assert.deepEqual(check.ok, { intact: true, problems: [] });

      // Starting again is refused (the bridge exists) and leaves the running network alone.
      const again = await step(ns, dir, "start", NAT_XML);
      assert.equal(again.error?.code, 38);
      assert.match(again.error!.message, /evtbr0: File exists/);
      assert.ok(processRunning(dnsmasq.pid));

      const stopped = await step(ns, dir, "stop", NAT_XML, started.ok);
      assert.equal(stopped.error, undefined, stopped.error?.message);
      assert.ok(!processRunning(dnsmasq.pid), "dnsmasq is gone");
      assert.deepEqual(await ns.links(), linksBefore);
      assert.deepEqual(await ns.tables(), tablesBefore);
      assert.equal((await ns.exec(["ss", "-H", "-lnup"])).stdout.trim(), "");

      // What a restart would report of a network recorded running whose parts are gone.
      const lost = await step(ns, dir, "check", NAT_XML, started.ok);
      assert.deepEqual(lost.ok, {
        intact: false,
        problems: ["bridge 'evtbr0' is gone", `dnsmasq (pid ${dnsmasq.pid}) is no longer running`],
      });

      // Stopping what is stopped changes nothing and succeeds.
      const twice = await step(ns, dir, "stop", NAT_XML, started.ok);
      assert.equal(twice.error, undefined);
      assert.deepEqual(await ns.links(), linksBefore);
    }), { searchable: true });
}, { sanitizeResources: false, sanitizeOps: false });

testIf("network runtime: a failed start leaves nothing in the namespace", skip, async () => {
  await withTempDir("evirt-netrt-", (dir) =>
    withNetns(async (ns) => {
      // The bridge name is taken by a link of another kind: refused before anything is made.
      const made = await ns.exec([
        "ip",
        "link",
        "add",
        "evtbr0",
        "type",
        "veth",
        "peer",
        "name",
        "evtpeer0",
      ]);
      assert.equal(made.code, 0, made.stderr);
      const linksBefore = await ns.links();
      const tablesBefore = await ns.tables();
      const taken = await step(ns, dir, "start", NAT_XML);
      assert.equal(taken.error?.code, 38);
      assert.deepEqual(await ns.links(), linksBefore);
      assert.deepEqual(await ns.tables(), tablesBefore);
      await ns.exec(["ip", "link", "del", "evtbr0"]);

      // dnsmasq cannot bind (another process holds DNS on every address): the bridge, address
      // and anything else made are undone.
      const linksClean = await ns.links();
      const blocker = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns.name,
          "/usr/sbin/dnsmasq",
          "--keep-in-foreground",
          "--port=53",
          "--listen-address=0.0.0.0",
          "--bind-interfaces",
          "--conf-file=/dev/null",
          "--no-dhcp-interface=",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        // Wait (bounded) for the blocker to hold port 53.
        for (let i = 0; i < 200; i++) {
          if ((await ns.exec(["ss", "-H", "-lnu"])).stdout.includes(":53 ")) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const failed = await step(ns, dir, "start", NAT_XML);
        assert.equal(failed.error?.code, 38, JSON.stringify(failed));
        assert.match(failed.error!.message, /dnsmasq/);
        assert.deepEqual(await ns.links(), linksClean);
        assert.deepEqual(await ns.tables(), tablesBefore);
      } finally {
        blocker.kill("SIGKILL");
        await blocker.status;
      }
    }), { searchable: true });
}, { sanitizeResources: false, sanitizeOps: false });

testIf(
  "network runtime: an isolated dual-stack network; stop finds dnsmasq by its pid file",
  skip,
  async () => {
    await withTempDir("evirt-netrt-", (dir) =>
      withNetns(async (ns) => {
        const linksBefore = await ns.links();
        const tablesBefore = await ns.tables();
        const started = await step(ns, dir, "start", ISOLATED_XML);
        assert.equal(started.error, undefined, started.error?.message);
        const pid = started.ok!.dnsmasq!.pid;
        const addr =
          JSON.parse((await ns.exec(["ip", "-j", "addr", "show", "dev", "evtbr1"])).stdout)[0];
        assert.deepEqual(
          addr.addr_info.filter((a: { scope: string }) => a.scope === "global").map((
            a: { local: string; prefixlen: number },
          ) => `${a.local}/${a.prefixlen}`),
          ["10.213.8.1/24", "fd00:213:8::1/64"],
        );
        const table = (await ns.exec(["nft", "list", "table", "inet", "evirt"])).stdout;
        assert.match(table, /chain br_evtbr1_forward /);
        assert.doesNotMatch(table, /masquerade/);
        // A stop with nothing recorded (a start cut short before its result was recorded).
        const stopped = await step(ns, dir, "stop", ISOLATED_XML);
        assert.equal(stopped.error, undefined, stopped.error?.message);
        assert.ok(!processRunning(pid));
        assert.deepEqual(await ns.links(), linksBefore);
        assert.deepEqual(await ns.tables(), tablesBefore);
      }), { searchable: true });
  },
  { sanitizeResources: false, sanitizeOps: false },
);

testIf("network runtime: route, open and host-bridge modes", skip, async () => {
  await withTempDir("evirt-netrt-", (dir) =>
    withNetns(async (ns) => {
      const linksBefore = await ns.links();
      const tablesBefore = await ns.tables();
      const route = `<network><name>evt-route</name><forward mode='route'/>` +
        `<bridge name='evtbr2'/><ip address='10.213.9.1' prefix='24'/></network>`;
      const routed = await step(ns, dir, "start", route);
      assert.equal(routed.error, undefined, routed.error?.message);
      const table = (await ns.exec(["nft", "list", "table", "inet", "evirt"])).stdout;
      assert.match(table, /chain br_evtbr2_forward /);
      assert.doesNotMatch(table, /masquerade/);
      assert.equal((await ns.exec(["cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim(), "1");

      // open: the bridge and dnsmasq, no firewall chains of its own.
      const open = `<network><name>evt-open</name><forward mode='open'/>` +
        `<bridge name='evtbr3'/><ip address='10.213.10.1' prefix='24'/></network>`;
      const opened = await step(ns, dir, "start", open);
      assert.equal(opened.error, undefined, opened.error?.message);
      assert.doesNotMatch(
        (await ns.exec(["nft", "list", "table", "inet", "evirt"])).stdout,
        /br_evtbr3_/,
      );
      assert.ok(opened.ok?.dnsmasq !== undefined && processRunning(opened.ok.dnsmasq.pid));

      // bridge: the host bridge must exist; nothing is made or removed.
      const host = `<network><name>evt-host</name><forward mode='bridge'/>` +
        `<bridge name='evthost0'/></network>`;
      const absent = await step(ns, dir, "start", host);
      assert.equal(absent.error?.code, 1);
      assert.match(absent.error!.message, /host bridge 'evthost0' does not exist/);
      assert.equal((await ns.exec(["ip", "link", "add", "evthost0", "type", "bridge"])).code, 0);
      const withHost = await ns.links();
      assert.deepEqual((await step(ns, dir, "start", host)).ok, {});
      assert.deepEqual((await step(ns, dir, "stop", host)).ok, null);
      assert.deepEqual(await ns.links(), withHost, "the host bridge stays");
      await ns.exec(["ip", "link", "del", "evthost0"]);

      // The table goes only with the last network's chains.
      assert.equal((await step(ns, dir, "stop", open, opened.ok)).error, undefined);
      assert.ok((await ns.tables()).includes("table inet evirt"));
      assert.equal((await step(ns, dir, "stop", route, routed.ok)).error, undefined);
      assert.deepEqual(await ns.links(), linksBefore);
      assert.deepEqual(await ns.tables(), tablesBefore);
    }), { searchable: true });
}, { sanitizeResources: false, sanitizeOps: false });
