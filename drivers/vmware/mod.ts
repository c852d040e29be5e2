/**
 * The VMware driver's conversions: domain XML ⇄ `.vmx` (libvirt's native format `vmware-vmx`).
 * No VMware hypervisor runs here; these are what `domxml-from-native` / `domxml-to-native`
 * and every define on an ESX or Workstation host go through.
 *
 * Without a host to ask, the conversions assume what libvirt's own VMX tests assume: every
 * datastore file exists, bare file names live in `[datastore] directory/`, and no SCSI
 * controller model is autodetected; XML → `.vmx` writes virtual hardware version 7, the
 * version libvirt's Workstation driver writes (its ESX driver asks the host's product version).
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { domainToVmx, type VmxWriteContext } from "./domain_to_vmx.ts";
import { type VmxReadContext, vmxToDomain } from "./vmx_to_domain.ts";

export { domainToVmx, type VmxWriteContext } from "./domain_to_vmx.ts";
export { VMWARE_NAMESPACE, type VmxReadContext, vmxToDomain } from "./vmx_to_domain.ts";
export { type DatastoreLookup, EVERY_FILE_EXISTS } from "./datastore_path.ts";
export { vmxTextFromBytes } from "./vmx_text.ts";

/** The virtual hardware version written when the caller names none. */
export const DEFAULT_HARDWARE_VERSION = 7;

/**
 * The `vmware-vmx` native format with the given contexts.
 *
 * @example
 * ```ts
 * import { vmwareVmxFormat } from "./mod.ts";
 * const format = vmwareVmxFormat();
 * const def = format.fromNative('config.version = "8"\nvirtualHW.version = "7"\ndisplayName = "vm"\n');
 * console.log(format.toNative(def).includes('displayName = "vm"')); // true
 * ```
 */
export function vmwareVmxFormat(
  read: VmxReadContext = {},
  write: VmxWriteContext = {},
): {
  fromNative(text: string): DomainDefinition;
  toNative(definition: DomainDefinition): string;
} {
  return {
    fromNative: (text) => vmxToDomain(text, read),
    toNative: (definition) =>
      domainToVmx(definition, { hardwareVersion: DEFAULT_HARDWARE_VERSION, ...write }),
  };
}
