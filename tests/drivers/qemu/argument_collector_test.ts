import assert from "node:assert/strict";
import { ArgumentCollector, hex } from "../../../drivers/qemu/argument_collector.ts";

Deno.test("ArgumentCollector.pciPlacement keeps explicit addresses and allocates free root slots", () => {
  const collector = new ArgumentCollector("i440fx", "tcg");
  collector.claimSlot(0, 3);
  assert.deepEqual(collector.pciPlacement(undefined, "w"), { bus: "pci.0", addr: "0x2" });
  assert.deepEqual(collector.pciPlacement(undefined, "w"), { bus: "pci.0", addr: "0x4" });
  assert.deepEqual(
    collector.pciPlacement({ type: "pci", bus: 2, slot: 1, function: 3, multifunction: "on" }, "w"),
    { bus: "pci.2", addr: "0x1.0x3", multifunction: true },
  );
});

Deno.test("ArgumentCollector reserves q35's host bridge and ICH9 slots and names its root pcie.0", () => {
  const collector = new ArgumentCollector("q35", "tcg");
  assert.equal(collector.rootBus, "pcie.0");
  const placements = Array.from({ length: 29 }, () => collector.pciPlacement(undefined, "w"));
  assert.ok(placements.every((placement) => placement.bus === "pcie.0"));
  assert.ok(!placements.some((placement) => ["0x0", "0x1f"].includes(placement.addr)));
});

Deno.test("ArgumentCollector adds a PCI bridge in the last free slot once a bus is full", () => {
  const collector = new ArgumentCollector("i440fx", "tcg");
  collector.claimPciIndex(2);
  const placements = Array.from({ length: 30 }, () => collector.pciPlacement(undefined, "w"));
  assert.deepEqual(placements[28], { bus: "pci.0", addr: "0x1e" });
  assert.deepEqual(placements[29], { bus: "pci.3", addr: "0x1" });
  assert.deepEqual(collector.args, [
    "-device",
    "pci-bridge,chassis_nr=3,id=pci.3,bus=pci.0,addr=0x1f",
  ]);
});

Deno.test("ArgumentCollector makes function 0 multifunction when another function of its slot is used", () => {
  const collector = new ArgumentCollector("q35", "tcg");
  collector.claimSlot(0, 2, 1);
  assert.deepEqual(collector.pciPlacement({ type: "pci", bus: 0, slot: 2, function: 0 }, "w"), {
    bus: "pcie.0",
    addr: "0x2",
    multifunction: true,
  });
});

Deno.test("ArgumentCollector.pciPlacement refuses non-PCI addresses and other PCI domains", () => {
  const collector = new ArgumentCollector("i440fx", "tcg");
  assert.throws(() => collector.pciPlacement({ type: "ccw" }, "/d"), /address type 'ccw'/);
  assert.throws(
    () => collector.pciPlacement({ type: "pci", domain: 1, slot: 2 }, "/d"),
    /pci domains/,
  );
});

Deno.test("hex writes lower-case hexadecimal with 0x", () => {
  assert.equal(hex(31), "0x1f");
});
