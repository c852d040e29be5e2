/**
 * The tc commands of a `<bandwidth>` are libvirt 9.0's (virNetDevBandwidthSet, as libvirt's
 * own virnetdevbandwidthtest expects them after its two clearing deletes, which a new device
 * does not need), and the hierarchical class tree a network's bridge gets.
 */

import assert from "node:assert/strict";
import { bandwidthTcCommands } from "../../../src/host/tc_bandwidth.ts";

const lines = (commands: string[][]) => commands.map((args) => `tc ${args.join(" ")}`);
const DEVICE = { hierarchical: false, swapped: true };

Deno.test("inbound alone: an HTB class with libvirt's quantum, SFQ and a catch-all filter", () => {
  assert.deepEqual(lines(bandwidthTcCommands("eth0", { inbound: { average: 1024 } }, DEVICE)), [
    "tc qdisc add dev eth0 root handle 1: htb default 1",
    "tc class add dev eth0 parent 1: classid 1:1 htb rate 1024kbps quantum 87",
    "tc qdisc add dev eth0 parent 1:1 handle 2: sfq perturb 10",
    "tc filter add dev eth0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
  ]);
});

Deno.test("outbound alone: an ingress police whose burst defaults to the rate", () => {
  assert.deepEqual(lines(bandwidthTcCommands("eth0", { outbound: { average: 1024 } }, DEVICE)), [
    "tc qdisc add dev eth0 ingress",
    "tc filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 police rate 1024kbps burst 1024kb mtu 64kb drop flowid :1",
  ]);
});

Deno.test("both directions with peak, floor and burst", () => {
  const bandwidth = {
    inbound: { average: 1, peak: 2, floor: 3, burst: 4 },
    outbound: { average: 5, peak: 6, burst: 7 },
  };
  assert.deepEqual(lines(bandwidthTcCommands("eth0", bandwidth, DEVICE)), [
    "tc qdisc add dev eth0 root handle 1: htb default 1",
    "tc class add dev eth0 parent 1: classid 1:1 htb rate 1kbps ceil 2kbps burst 4kb quantum 1",
    "tc qdisc add dev eth0 parent 1:1 handle 2: sfq perturb 10",
    "tc filter add dev eth0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
    "tc qdisc add dev eth0 ingress",
    "tc filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 police rate 5kbps burst 7kb mtu 64kb drop flowid :1",
  ]);
});

Deno.test("a bridge's hierarchical tree: 1:1 caps the network, 1:2 takes the guests' traffic", () => {
  const commands = bandwidthTcCommands("virbr1", { inbound: { average: 1000, peak: 2000 } }, {
    hierarchical: true,
    swapped: true,
  });
  assert.deepEqual(lines(commands), [
    "tc qdisc add dev virbr1 root handle 1: htb default 2",
    "tc class add dev virbr1 parent 1: classid 1:1 htb rate 1000kbps ceil 2000kbps quantum 85",
    "tc class add dev virbr1 parent 1:1 classid 1:2 htb rate 1000kbps ceil 2000kbps quantum 85",
    "tc qdisc add dev virbr1 parent 1:2 handle 2: sfq perturb 10",
    "tc filter add dev virbr1 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
  ]);
});

Deno.test("not swapped: outbound is shaped and inbound policed; nothing for no bandwidth", () => {
  const commands = bandwidthTcCommands("macvtap0", {
    inbound: { average: 10 },
    outbound: { average: 20 },
  }, { hierarchical: false, swapped: false });
  assert.match(lines(commands)[1], /rate 20kbps/);
  assert.match(lines(commands).at(-1)!, /police rate 10kbps burst 10kb/);
  assert.deepEqual(bandwidthTcCommands("eth0", undefined, DEVICE), []);
});
