/**
 * The native configuration formats evirt converts domain XML to and from (libvirt's
 * `virConnectDomainXMLFromNative` / `virConnectDomainXMLToNative`, virsh `domxml-from-native` /
 * `domxml-to-native`): one entry per format name, each implemented by the driver whose hypervisor
 * reads that format. The API, RPC and CLI find a format here and nowhere else.
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import { validateDomain } from "../src/xml/mod.ts";
import { XEN_NATIVE_FORMATS } from "../drivers/xen/xen_native_formats.ts";
import { bhyveArgvToDomain, bhyveToNative } from "../drivers/bhyve/mod.ts";
import { vmwareVmxFormat } from "../drivers/vmware/mod.ts";
import { lxcToolsToDomain } from "../drivers/lxc/lxc_tools_config.ts";

/** What a format may ask of the host: a command line only a driver builds, a network's bridge. */
export interface NativeFormatHost {
  /** The command line the driver running `definition`'s type would start it with. */
  commandLine(definition: DomainDefinition): Promise<string>;
  /**
   * The bridge of the virtual network `name` (an interface of type `network`).
   *
   * @throws {VirtError} Code 43 when there is no such network.
   */
  networkBridge(name: string): string;
}

/** One native format: either direction may be absent (libvirt then answers code 3). */
export interface NativeFormat {
  /** The native configuration text → a domain definition (throws `VirtError` on bad input). */
  fromNative?(text: string): DomainDefinition;
  /**
   * A domain definition → the native configuration text (throws `VirtError` when
   * inexpressible); `host`, when given, names what only the host knows (network bridges).
   */
  toNative?(definition: DomainDefinition, host?: NativeFormatHost): string;
  /** A direction only the host's drivers can write (`qemu-argv`): used instead of `toNative`. */
  toNativeOnHost?(definition: DomainDefinition, host: NativeFormatHost): Promise<string>;
}

/** `qemu-argv`: the QEMU driver's command line of a complete, validated definition. */
const QEMU_ARGV: NativeFormat = {
  toNativeOnHost(definition, host) {
    const complete = applyDomainDefaults(definition);
    validateDomain(complete);
    return host.commandLine(complete);
  },
};

/** Every native format by its libvirt name (`xen-xl`, `xen-xm`, `vmware-vmx`, `bhyve-argv`, `lxc-tools`, …). */
export const NATIVE_FORMATS: ReadonlyMap<string, NativeFormat> = new Map<string, NativeFormat>([
  ["qemu-argv", QEMU_ARGV],
  ...XEN_NATIVE_FORMATS,
  ["vmware-vmx", vmwareVmxFormat()],
  ["bhyve-argv", {
    fromNative: (text) => bhyveArgvToDomain(text),
    toNative: (definition) => bhyveToNative(definition),
  }],
  // LXC tools configurations; libvirt's LXC driver converts them to XML only.
  ["lxc-tools", { fromNative: (text) => lxcToolsToDomain(text) }],
]);
