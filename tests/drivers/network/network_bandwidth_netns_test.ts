/**
 * A network's `<bandwidth>` for real, inside a network namespace of the test's own. Where the
 * kernel has what libvirt's tc setup needs (HTB, SFQ, the fw classifier, the police action),
 * the bridge gets it (inbound shaped on the bridge's egress under a hierarchical class,
 * outbound policed on its ingress), read back with `tc`. Where it lacks them (as this build
 * host's kernel does), the start fails with code 38 naming the bridge and leaves nothing:
 * no bridge, no dnsmasq, no firewall table. Either way a stop leaves the namespace as it was.
 * The commands themselves are checked against libvirt's in `tests/src/host/tc_bandwidth_test.ts`.
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../../support/environment.ts";
import { netnsSkipReason, type TestNamespace, withNetns } from "../../support/netns.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const skip = netnsSkipReason() ?? missing("tc");
const WORKER = new URL("./_runtime_worker.ts", import.meta.url).pathname;

const XML = `<network>
  <name>evt-bw</name>
  <uuid>0e5d7c3a-3b44-4c71-9d0c-6a5a1e6f0a09</uuid>
  <forward mode='nat'/>
  <bridge name='evtbw0'/>
  <mac address='52:54:00:12:34:59'/>
  <bandwidth>
    <inbound average='1000' peak='2000' burst='256'/>
    <outbound average='500' burst='128'/>
  </bandwidth>
  <ip address='10.213.9.1' prefix='24'>
    <dhcp><range start='10.213.9.10' end='10.213.9.20'/></dhcp>
  </ip>
</network>`;

/** Whether the namespace's kernel takes SFQ, fw filters and police actions (tried on a dummy). */
async function kernelShapes(ns: TestNamespace): Promise<boolean> {
  await ns.exec(["ip", "link", "add", "evtbwprobe", "type", "dummy"]);
  try {
    const tries = [
      ["tc", "qdisc", "add", "dev", "evtbwprobe", "root", "handle", "1:", "sfq"],
      [..."tc filter add dev evtbwprobe parent 1:0 protocol all prio 1 handle 1 fw".split(" ")],
      ["tc", "qdisc", "add", "dev", "evtbwprobe", "ingress"],
      [
        ..."tc filter add dev evtbwprobe parent ffff: protocol all u32 match u32 0 0".split(" "),
        ..."police rate 1kbps burst 1kb drop".split(" "),
      ],
    ];
    for (const args of tries) {
      if ((await ns.exec(args)).code !== 0) return false;
    }
    return true;
  } finally {
    await ns.exec(["ip", "link", "del", "evtbwprobe"]);
  }
}

testIf(
  "a network's <bandwidth> is set on its bridge with tc, or its start undone where it cannot",
  skip,
  async () => {
    await withTempDir("evirt-netbw-", (dir) =>
      withNetns(async (ns) => {
        const shapes = await kernelShapes(ns);
        const linksBefore = await ns.links();
        const tablesBefore = await ns.tables();
        const xmlFile = `${dir}/bw.xml`;
        await Deno.writeTextFile(xmlFile, XML);
        const worker = async (operation: string, state?: string) => {
          const result = await ns.exec([
            Deno.execPath(),
            "run",
            "--allow-all",
            WORKER,
            operation,
            `${dir}/state`,
            xmlFile,
            ...(state === undefined ? [] : [state]),
          ]);
          assert.equal(result.code, 0, result.stderr);
          return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
        };
        const started = await worker("start");
        if (!shapes) {
          assert.equal(started.error?.code, 38, JSON.stringify(started));
          assert.match(started.error.message, /^cannot set bandwidth limits on evtbw0: /);
          assert.deepEqual(await ns.links(), linksBefore, "no bridge left");
          assert.deepEqual(await ns.tables(), tablesBefore, "no firewall table left");
          assert.equal((await ns.exec(["ss", "-H", "-lnup"])).stdout.trim(), "", "no dnsmasq");
          console.log("this kernel cannot shape (no sfq, fw or police): checked the undone start");
          return;
        }
        assert.equal(started.error, undefined, started.error?.message);
        try {
          const tc = async (args: string) => (await ns.exec(["tc", ...args.split(" ")])).stdout;
          const qdiscs = await tc("qdisc show dev evtbw0");
          assert.match(qdiscs, /qdisc htb 1: root .*default 0x2\b/);
          assert.match(qdiscs, /qdisc sfq 2: parent 1:2 /);
          assert.match(qdiscs, /qdisc ingress ffff: parent ffff:fff1/);
          const classes = await tc("class show dev evtbw0");
          // tc prints KiB/s as bits per second: 1000 KiB/s = 8Mbit (8192 Kibit).
          assert.match(classes, /class htb 1:1 root rate 8Mbit ceil 16Mbit/);
          assert.match(classes, /class htb 1:2 parent 1:1 leaf 2: prio 0 rate 8Mbit ceil 16Mbit/);
          assert.match(await tc("filter show dev evtbw0 parent 1:"), /fw/);
          assert.match(
            await tc("filter show dev evtbw0 parent ffff:"),
            /police .*rate 4Mbit burst 128Kb .*drop/,
          );
        } finally {
          const stopped = await worker("stop", JSON.stringify(started.ok));
          assert.equal(stopped.error, undefined, stopped.error?.message);
        }
        assert.deepEqual(await ns.links(), linksBefore);
        assert.deepEqual(await ns.tables(), tablesBefore);
      }));
  },
);
