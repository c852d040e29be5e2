import assert from "node:assert/strict";
import { ArgumentCollector, hex, PCI_SLOT_MAX } from "../../../drivers/qemu/argument_collector.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

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
  const slots = Array.from(
    { length: PCI_SLOT_MAX - 1 },
    () => collector.pciPlacement(undefined, "w").addr,
  );
  assert.ok(!slots.includes("0x1f"));
  assert.throws(
    () => collector.pciPlacement(undefined, "/domain/devices/x"),
    (error: unknown) =>
      error instanceof VirtError && error.code === ErrorCode.CONFIG_UNSUPPORTED &&
      error.where === "/domain/devices/x",
  );
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
