/**
 * The bhyve driver's conversions, libvirt's native format `bhyve-argv` both ways: domain XML →
 * the `bhyve` and loader command lines (what `domxml-to-native bhyve-argv` and every start on a
 * FreeBSD host go through), and command lines → domain XML (`domxml-from-native`). bhyve runs
 * on FreeBSD, not here.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { type BhyveCapabilities, FULL_BHYVE_CAPABILITIES } from "./bhyve_capabilities.ts";
import { bhyveCommands } from "./bhyve_argv.ts";
import { bhyveDefaults } from "./bhyve_defaults.ts";
import { commandText } from "../../src/host/command_text.ts";

export { type BhyveCapabilities, FULL_BHYVE_CAPABILITIES } from "./bhyve_capabilities.ts";
export { type BhyveCommandOptions, type BhyveCommands, bhyveCommands } from "./bhyve_argv.ts";
export { bhyveDefaults } from "./bhyve_defaults.ts";
export { type BhyveArgvOptions, bhyveArgvToDomain } from "./argv_to_domain.ts";
export { fillBhyveFirmware } from "./bhyve_firmware.ts";
export { commandText } from "../../src/host/command_text.ts";

/**
 * `domxml-to-native bhyve-argv`: the loader's command line (unless the guest boots from UEFI
 * firmware), a line break, and the `bhyve` command line, as libvirt writes them: full program
 * paths, arguments shell-quoted, `tap0` for a bridged NIC's tap device and `<device.map>` for
 * grub's device map.
 *
 * @example
 * ```ts
 * import { bhyveToNative } from "./mod.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const def = { type: "bhyve", name: "vm", uuid: "df3be7e7-a104-11e3-aeb0-50e5492bd3dc",
 *   memoryKiB: 219136, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * def.devices.disks.push({ type: "file", source: { file: "/vm.img", hosts: [] }, target: { dev: "hda", bus: "sata" } });
 * console.log(bhyveToNative(def).split("\n")[0]); // "/usr/sbin/bhyveload -m 214 -d /vm.img vm"
 * ```
 */
export function bhyveToNative(
  definition: DomainDefinition,
  capabilities: BhyveCapabilities = FULL_BHYVE_CAPABILITIES,
): string {
  const def = bhyveDefaults(definition, { capabilities });
  const commands = bhyveCommands(def, {
    capabilities,
    bhyve: "/usr/sbin/bhyve",
    bhyveload: "/usr/sbin/bhyveload",
    tapName: "tap0",
    deviceMapFile: "<device.map>",
    autoPort: 0,
  });
  const load = commands.load === undefined ? "" : `${commandText(commands.load)}\n`;
  return load + commandText(commands.bhyve);
}
