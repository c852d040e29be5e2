/**
 * The native configuration formats evirt converts domain XML to and from (libvirt's
 * `virConnectDomainXMLFromNative` / `virConnectDomainXMLToNative`, virsh `domxml-from-native` /
 * `domxml-to-native`): one entry per format name, each implemented by the driver whose hypervisor
 * reads that format. The API, RPC and CLI find a format here and nowhere else.
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { bhyveArgvToDomain, bhyveToNative } from "../drivers/bhyve/mod.ts";
import { vmwareVmxFormat } from "../drivers/vmware/mod.ts";

/** One native format: either direction may be absent (libvirt then answers code 3). */
export interface NativeFormat {
  /** The native configuration text → a domain definition (throws `VirtError` on bad input). */
  fromNative?(text: string): DomainDefinition;
  /** A domain definition → the native configuration text (throws `VirtError` when inexpressible). */
  toNative?(definition: DomainDefinition): string;
}

/** Every native format by its libvirt name (`xen-xl`, `xen-xm`, `vmware-vmx`, `bhyve-argv`, `lxc-tools`, …). */
export const NATIVE_FORMATS: ReadonlyMap<string, NativeFormat> = new Map<string, NativeFormat>([
  // Each driver adds its entry here: ["format-name", { fromNative, toNative }].
  ["vmware-vmx", vmwareVmxFormat()],
  ["bhyve-argv", {
    fromNative: (text) => bhyveArgvToDomain(text),
    toNative: (definition) => bhyveToNative(definition),
  }],
]);
