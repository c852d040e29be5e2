/**
 * A domain's interfaces as `virsh domiflist` lists them, from the definition alone: the host
 * device (`<target dev>`), the type, the source (bridge, device, network, name or path, the
 * first of them present, as virsh reads it), the model and the MAC address.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";

/** One interface as `domiflist` shows it; `-` where the definition says nothing. */
export interface InterfaceListRow {
  /** The host-side device (`<target dev>`), `-` before the domain runs. */
  interface: string;
  /** `<interface type>`. */
  type: string;
  /** The source: bridge, dev, network, name or path. */
  source: string;
  /** `<model type>`. */
  model: string;
  /** `<mac address>`. */
  mac: string;
}

/** The answer of `GET /v1/domains/{ref}/interfaces`. */
export interface InterfaceListView {
  interfaces: InterfaceListRow[];
}

/**
 * The source attributes virsh reads (an XPath union, whose string is the first of them in
 * document order: a running `network` interface's `<source network='…' bridge='…'/>` shows the
 * network).
 */
const SOURCE_ATTRIBUTES = new Set(["bridge", "dev", "network", "name", "path"]);

/**
 * The interfaces of a definition in their order.
 *
 * @example
 * ```ts
 * import { interfaceList } from "./interface_list.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = emptyDevices();
 * devices.interfaces.push({ type: "network", source: { network: "default" }, mac: "52:54:00:00:00:01" });
 * const definition = { type: "test", name: "a", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices };
 * console.log(interfaceList(definition)[0]);
 * // { interface: "-", type: "network", source: "default", model: "-", mac: "52:54:00:00:00:01" }
 * ```
 */
export function interfaceList(definition: DomainDefinition): InterfaceListRow[] {
  return definition.devices.interfaces.map((nic) => {
    const source = Object.entries(nic.source ?? {}).find(([name, value]) =>
      SOURCE_ATTRIBUTES.has(name) && value !== ""
    )?.[1];
    return {
      interface: nic.target?.dev || "-",
      type: nic.type,
      source: source ?? "-",
      model: nic.model || "-",
      mac: nic.mac || "-",
    };
  });
}
