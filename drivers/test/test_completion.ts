/**
 * The test driver's define-time completion, as libvirt 9.0's test driver: the console
 * compatibility rule (a console becomes serial port 0 too, with no target type), a `cirrus`
 * video (16 MiB, one head) for graphics without a video and one head per video, and a host
 * interface name `testnetN` (the first free N) for each interface that names none. The test
 * driver assigns no PCI addresses.
 *
 * @module
 */

import { addConsoleCompat } from "../../src/model/console_compat.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { withPart } from "../../src/model/compact_definition.ts";

/** Video RAM (KiB) libvirt gives the video models that have some. */
const VIDEO_VRAM_KIB: Record<string, number> = {
  vga: 16384,
  cirrus: 16384,
  vmvga: 4096,
  bochs: 16384,
  qxl: 65536,
};

/**
 * Completes a test-driver definition (see the module notes). Pure.
 *
 * @example
 * ```ts
 * import { completeTestDefinition } from "./test_completion.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const devices = emptyDevices();
 * devices.interfaces.push({ type: "network", source: { network: "default" } });
 * const done = completeTestDefinition({ type: "test", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices });
 * console.log(done.devices.interfaces[0].target); // { dev: "testnet0" }
 * ```
 */
export function completeTestDefinition(definition: DomainDefinition): DomainDefinition {
  // Only the devices change: the other parts stay as they are (a compact definition's large
  // parts are not inflated), and a definition with nothing to complete is given back itself.
  const before = JSON.stringify(definition.devices);
  const devices = structuredClone(definition.devices);
  // `addConsoleCompat` reads `os.type` and the devices only; a spread of the definition would
  // inflate its large parts.
  const def = { os: definition.os, devices } as DomainDefinition;
  const names = new Set(devices.interfaces.map((each) => each.target?.dev));
  for (const nic of devices.interfaces) {
    if (nic.target?.dev !== undefined) continue;
    let counter = 0;
    while (names.has(`testnet${counter}`)) counter++;
    names.add(`testnet${counter}`);
    nic.target = { ...nic.target, dev: `testnet${counter}` };
  }
  addConsoleCompat(def);
  if (devices.graphics.length > 0 && devices.videos.length === 0) {
    devices.videos.push({ model: { type: "cirrus", primary: "yes" } });
  }
  for (const video of devices.videos) {
    const model = video.model;
    if (model === undefined || model.type === "none") continue;
    const { type, ram, vram, vram64, vgamem, heads, primary, ...rest } = model;
    video.model = JSON.parse(JSON.stringify({
      type,
      ram,
      vram: vram ?? VIDEO_VRAM_KIB[type],
      vram64,
      vgamem,
      heads: heads ?? 1,
      primary,
      ...rest,
    }));
  }
  return JSON.stringify(devices) === before ? definition : withPart(definition, "devices", devices);
}
