import assert from "node:assert/strict";
import { changedInterface, nextInterfaceAlias } from "../../../drivers/qemu/interface_hotplug.ts";
import type { NetInterface } from "../../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

const running: NetInterface = {
  type: "user",
  mac: "52:54:00:00:00:01",
  model: "virtio",
  alias: "net1",
  address: { type: "pci", domain: 0, bus: 0, slot: 3, function: 0 },
};

Deno.test("nextInterfaceAlias counts on from the highest netN in use, as libvirt", () => {
  assert.equal(nextInterfaceAlias([]), "net0");
  assert.equal(nextInterfaceAlias([{ type: "user", alias: "net1" }]), "net2");
  assert.equal(nextInterfaceAlias([{ type: "user", alias: "ua-x" }]), "net0");
});

Deno.test("changedInterface changes the link and takes what the new element leaves out", () => {
  const down = changedInterface(running, {
    type: "user",
    mac: running.mac,
    link: "down",
    model: "virtio",
  });
  assert.deepEqual(down, { ...running, link: "down" });
  const unsaid = changedInterface(down, { type: "user", mac: running.mac, model: "virtio" });
  assert.deepEqual(unsaid, running);
});

Deno.test("changedInterface refuses what libvirt's qemuDomainChangeNet refuses, with its words", () => {
  const cases: [Partial<NetInterface>, string][] = [
    [{ model: "e1000" }, "cannot modify network device model from virtio to e1000"],
    [{ driver: { name: "qemu" } }, "cannot modify virtio network device driver attributes"],
    [{ target: { dev: "tap9" } }, "cannot modify network device tap name"],
    [
      { address: { type: "pci", domain: 0, bus: 0, slot: 7, function: 0 } },
      "cannot modify network device guest PCI address",
    ],
    [{ alias: "net7" }, "cannot modify network device alias"],
    [{ boot: { order: 2 } }, "cannot modify network device boot index setting"],
    [{ type: "ethernet" }, "unable to change config on 'ethernet' network type"],
  ];
  for (const [change, message] of cases) {
    assert.throws(
      () => changedInterface(running, { ...running, ...change }),
      (error) => isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED) && error.message === message,
      message,
    );
  }
  const socket: NetInterface = {
    type: "udp",
    mac: running.mac,
    source: { address: "127.0.0.1", port: "5000" },
  };
  assert.throws(
    () => changedInterface(socket, { ...socket, source: { address: "127.0.0.1", port: "5001" } }),
    (error) =>
      isVirtError(error) && error.message === "unable to change config on 'udp' network type",
  );
});
