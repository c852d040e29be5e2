/**
 * The QEMU driver's define-time completion, as libvirt 9.0's QEMU post-parse: the versioned
 * machine type, the emulator's path, QEMU's default CPU model written out for a TCG guest
 * whose `<cpu>` names no model (`qemu64`; `qemu32` with `qemu-system-i386`, as libvirt writes
 * it), the implicit devices and defaults (implicit_devices.ts), then PCI addresses
 * (pci_assignment.ts). The result is what the persistent definition records, so the guest's
 * hardware stays the same across restarts and QEMU upgrades, and what the command line is
 * built from.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { addImplicitDevices, type MachineKind } from "./implicit_devices.ts";
import { type MachineTypes, resolveMachine } from "./machine_type.ts";
import { assignPciAddresses } from "./pci_assignment.ts";

/**
 * Completes a QEMU definition. A machine type this driver does not build for (neither i440fx
 * nor q35) is left as it is, for the driver's check to refuse by name. Pure.
 *
 * @param definition A definition after the generic defaults and validation.
 * @param machines The emulator's machine aliases and default.
 * @param emulator The emulator's absolute path, for a definition without `<emulator>`.
 * @returns The completed definition.
 * @throws {VirtError} Code 27 for explicit PCI addresses that collide or do not fit; code 1
 *   when no PCI slot is left.
 *
 * @example
 * ```ts
 * import { completeQemuDefinition } from "./definition_completion.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const done = completeQemuDefinition({
 *   type: "qemu", name: "vm", memoryKiB: 131072, vcpus: 1,
 *   os: { type: "hvm", machine: "q35", boot: [] }, devices: emptyDevices(),
 * }, { aliases: { q35: "pc-q35-7.2" } });
 * console.log(done.os.machine, done.devices.memballoon?.address?.bus); // "pc-q35-7.2" 2
 * ```
 */
export function completeQemuDefinition(
  definition: DomainDefinition,
  machines: MachineTypes,
  emulator?: string,
): DomainDefinition {
  const machine = resolveMachine(definition.os.machine, machines);
  const kind = machineKind(machine ?? "pc");
  if (kind === undefined) return definition;
  const def: DomainDefinition = structuredClone(definition);
  if (machine !== undefined) def.os.machine = machine;
  if (emulator !== undefined) def.devices.emulator ??= emulator;
  const cpu = def.cpu;
  if (def.type === "qemu" && (cpu?.mode ?? "custom") === "custom" && cpu?.model === undefined) {
    const { mode: _mode, match, check, ...rest } = cpu ?? { features: [] };
    def.cpu = {
      mode: "custom",
      match: match ?? "exact",
      check: check ?? "none",
      ...rest,
      model: (def.devices.emulator ?? "").endsWith("-i386") ? "qemu32" : "qemu64",
      modelFallback: "forbid",
    };
  }
  // `def` is this call's own copy: the steps change it in place.
  return assignPciAddresses(addImplicitDevices(def, kind, { owned: true }), { owned: true });
}

/**
 * Whether a definition went through {@linkcode completeQemuDefinition}: completion always gives
 * it a PCI root controller at index 0.
 *
 * @example
 * ```ts
 * import { isCompleted } from "./definition_completion.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * console.log(isCompleted({ type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() })); // false
 * ```
 */
export function isCompleted(definition: DomainDefinition): boolean {
  return definition.devices.controllers.some((each) =>
    each.type === "pci" && each.index === 0 &&
    (each.model === "pci-root" || each.model === "pcie-root")
  );
}

function machineKind(machine: string): MachineKind | undefined {
  if (machine === "q35" || machine.startsWith("pc-q35-")) return "q35";
  if (machine === "pc" || machine.startsWith("pc-i440fx-")) return "i440fx";
  return undefined;
}
