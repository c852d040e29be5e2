/**
 * `domifaddr`: a running domain's interface addresses, as virsh prints them (its fixed-width
 * columns, not a table): from the networks' DHCP leases (`--source lease`, the default).
 *
 * @module
 */

import type { InterfaceAddresses } from "../../api/network_views.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

const SOURCES = ["lease", "agent", "arp"];

function padded(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/**
 * virsh's rows: ` %-10s %-17s    %-12s ADDRESS/PREFIX`, the name and MAC address only on an
 * interface's first address unless `full`; `only` keeps one interface.
 *
 * @example
 * ```ts
 * import { formatInterfaceAddresses } from "./domifaddr.ts";
 * console.log(formatInterfaceAddresses([{ name: "vnet1n0", hwaddr: "52:54:00:00:00:01", addrs: [{ type: "ipv4", addr: "10.0.0.5", prefix: 24 }] }], false));
 * ```
 */
export function formatInterfaceAddresses(
  interfaces: readonly InterfaceAddresses[],
  full: boolean,
  only?: string,
): string {
  let text = "";
  for (const iface of interfaces) {
    if (only !== undefined && iface.name !== only) continue;
    if (iface.addrs.length === 0) {
      text += ` ${padded(iface.name, 10)} ${padded(iface.hwaddr || "N/A", 17)}    ${
        padded("N/A", 12)
      } N/A\n`;
      continue;
    }
    iface.addrs.forEach((address, index) => {
      const first = full || index === 0;
      const value = `${padded(address.type, 12)} ${address.addr}/${address.prefix}`;
      text += ` ${padded(first ? iface.name : "-", 10)} ${
        padded(first ? iface.hwaddr : "-", 17)
      }    ${value}\n`;
    });
  }
  return text;
}

/** virsh's header (left out with `--quiet`). */
export const INTERFACE_ADDRESSES_HEADER = ` ${padded("Name", 10)} ${padded("MAC address", 20)} ${
  padded("Protocol", 8)
}     Address\n${"-".repeat(49)}${"-".repeat(30)}\n`;

/**
 * The `domifaddr` verb.
 *
 * @example
 * ```sh
 * evirt domifaddr web --source lease
 * ```
 */
export const domifaddrVerb: Verb = {
  name: "domifaddr",
  summary: "Get network interfaces' addresses for a running domain",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "interface", kind: "string", help: "network interface name" },
    { name: "full", kind: "bool", help: "always display names and MACs of interfaces" },
    { name: "source", kind: "string", help: "address source: 'lease', 'agent', or 'arp'" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const source = args.text("source");
    if (source !== undefined && !SOURCES.includes(source)) {
      throw new ArgumentError(`Unknown data source '${source}'`, "source");
    }
    const reference = args.required("domain");
    const interfaces = await domainCommand(
      reference,
      "Failed to query for interfaces addresses",
      () => context.client.interfaceAddresses(reference, source),
    );
    if (args.flag("json")) {
      context.json(interfaces);
      return;
    }
    context.printExtra(INTERFACE_ADDRESSES_HEADER);
    context.print(formatInterfaceAddresses(interfaces, args.flag("full"), args.text("interface")));
  },
};
