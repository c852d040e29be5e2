/**
 * `attach-interface`: builds the `<interface>` element virsh 9.0 builds from its options and
 * attaches it (`--print-xml` prints it instead). As virsh, it writes elements only for the
 * types whose source it knows how to name (network, bridge, direct, hostdev, vhostuser) and
 * refuses the others before asking anything.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DEVICE_SCOPE_OPTIONS, deviceScope } from "../device_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** libvirt's interface types (`virDomainNetType`): any other is refused by name. */
const NET_TYPES: readonly string[] = [
  "user",
  "ethernet",
  "vhostuser",
  "server",
  "client",
  "mcast",
  "network",
  "bridge",
  "internal",
  "direct",
  "hostdev",
  "udp",
  "vdpa",
  "null",
  "vds",
];

/** A bandwidth rate as virsh reads it: `average[,peak[,burst[,floor]]]`. */
/** A rate as virsh reads it: 0 for a field not given. */
export interface Rate {
  average: number;
  peak: number;
  burst: number;
  floor: number;
}

const RATE_FIELDS = ["average", "peak", "burst", "floor"] as const;

/**
 * Reads a rate as virsh's `virshParseRateStr` does (for `attach-interface` and `domiftune`).
 *
 * @throws {ArgumentError} `field '…' is malformed` for a field that is no whole number.
 */
export function parseRate(text: string, option: string): Rate {
  const rate: Rate = { average: 0, peak: 0, burst: 0, floor: 0 };
  const parts = text.split(",");
  if (parts.length > RATE_FIELDS.length) {
    throw new ArgumentError("too many values in rate", option);
  }
  parts.forEach((part, index) => {
    if (part === "") return;
    if (!/^\d+$/.test(part)) {
      throw new ArgumentError(`field '${RATE_FIELDS[index]}' is malformed`, option);
    }
    rate[RATE_FIELDS[index]] = Number(part);
  });
  return rate;
}

/** A PCI address `[domain:]bus:slot.function` as virsh reads it, in its XML spelling. */
function pciAddress(text: string): Record<string, string> | undefined {
  const match = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/.exec(
    text,
  );
  if (match === null) return undefined;
  const hex = (value: string | undefined, width: number) =>
    `0x${parseInt(value ?? "0", 16).toString(16).padStart(width, "0")}`;
  return {
    domain: hex(match[1], 4),
    bus: hex(match[2], 2),
    slot: hex(match[3], 2),
    function: `0x${match[4]}`,
  };
}

/** What `attach-interface` writes into the element. */
export interface InterfaceOptions {
  type: string;
  source: string;
  target?: string;
  mac?: string;
  script?: string;
  model?: string;
  alias?: string;
  inbound?: string;
  outbound?: string;
  managed?: boolean;
  sourceMode?: string;
}

function sourceLines(options: InterfaceOptions): string[] {
  const { type, source } = options;
  switch (type) {
    case "network":
    case "bridge":
      return [`<source ${type}='${source}'/>`];
    case "direct":
      return [`<source dev='${source}'/>`];
    case "hostdev": {
      const address = pciAddress(source);
      if (address === undefined) {
        throw new ArgumentError(
          `cannot parse pci address '${source}' for network interface`,
          source,
        );
      }
      return [
        "<source>",
        `  <address type='pci' domain='${address.domain}' bus='${address.bus}' slot='${address.slot}' function='${address.function}'/>`,
        "</source>",
      ];
    }
    case "vhostuser":
      if (options.sourceMode === undefined) {
        throw new ArgumentError("source-mode is mandatory", "--source-mode");
      }
      return [`<source type='unix' path='${source}' mode='${options.sourceMode}'/>`];
    default:
      throw new ArgumentError(`No support for ${type} in command 'attach-interface'`, type);
  }
}

function bandwidthLines(options: InterfaceOptions): string[] {
  const inbound = options.inbound === undefined
    ? undefined
    : parseRate(options.inbound, "--inbound");
  const outbound = options.outbound === undefined
    ? undefined
    : parseRate(options.outbound, "--outbound");
  if (inbound !== undefined && inbound.average === 0 && inbound.floor === 0) {
    throw new ArgumentError("either inbound average or floor is mandatory", "--inbound");
  }
  if (outbound !== undefined && outbound.average === 0) {
    throw new ArgumentError("outbound average is mandatory", "--outbound");
  }
  if (outbound !== undefined && outbound.floor !== 0) {
    throw new ArgumentError("outbound floor is unsupported yet", "--outbound");
  }
  if (inbound === undefined && outbound === undefined) return [];
  const rate = (name: string, value: Rate, fields: readonly (keyof Rate)[]) =>
    `  <${name}${
      fields.filter((field) => value[field] > 0).map((field) => ` ${field}='${value[field]}'`)
        .join("")
    }/>`;
  return [
    "<bandwidth>",
    ...(inbound === undefined ? [] : [rate("inbound", inbound, RATE_FIELDS)]),
    ...(outbound === undefined ? [] : [rate("outbound", outbound, ["average", "peak", "burst"])]),
    "</bandwidth>",
  ];
}

/**
 * The `<interface>` element virsh 9.0 writes for `attach-interface` (same elements, same order,
 * same indentation).
 *
 * @throws {ArgumentError} virsh's refusals: an unknown or unsupported type, a bad source mode,
 *   a bad PCI address, a bad rate.
 *
 * @example
 * ```ts
 * import { interfaceXml } from "./attach-interface.ts";
 * console.log(interfaceXml({ type: "network", source: "default", model: "virtio" }));
 * // <interface type='network'>\n  <source network='default'/>\n  <model type='virtio'/>\n</interface>\n
 * ```
 */
export function interfaceXml(options: InterfaceOptions): string {
  if (!NET_TYPES.includes(options.type)) {
    throw new ArgumentError(
      `No support for ${options.type} in command 'attach-interface'`,
      options.type,
    );
  }
  if (
    options.sourceMode !== undefined && options.sourceMode !== "server" &&
    options.sourceMode !== "client"
  ) {
    throw new ArgumentError(`Invalid source mode: ${options.sourceMode}`, "--source-mode");
  }
  const bandwidth = bandwidthLines(options);
  const inner = [
    ...sourceLines(options),
    ...(options.target === undefined ? [] : [`<target dev='${options.target}'/>`]),
    ...(options.mac === undefined ? [] : [`<mac address='${options.mac}'/>`]),
    ...(options.script === undefined ? [] : [`<script path='${options.script}'/>`]),
    ...(options.model === undefined ? [] : [`<model type='${options.model}'/>`]),
    ...(options.alias === undefined ? [] : [`<alias name='${options.alias}'/>`]),
    ...bandwidth,
  ];
  const open = `<interface type='${options.type}'${options.managed ? " managed='yes'" : ""}>`;
  return `${[open, ...inner.map((line) => `  ${line}`), "</interface>"].join("\n")}\n`;
}

/**
 * The `attach-interface` verb.
 *
 * @example
 * ```sh
 * evirt attach-interface web network default --model virtio --config   # Interface attached successfully
 * ```
 */
export const attachInterfaceVerb: Verb = {
  name: "attach-interface",
  summary: "attach network interface",
  options: [
    DOMAIN_OPTION,
    {
      name: "type",
      kind: "string",
      positional: true,
      required: true,
      help: "network interface type",
    },
    {
      name: "source",
      kind: "string",
      positional: true,
      required: true,
      help: "source of network interface",
    },
    { name: "target", kind: "string", help: "target network name" },
    { name: "mac", kind: "string", help: "MAC address" },
    { name: "script", kind: "string", help: "script used to bridge network interface" },
    { name: "model", kind: "string", help: "model type" },
    { name: "alias", kind: "string", help: "custom alias name of interface device" },
    { name: "inbound", kind: "string", help: "control domain's incoming traffics" },
    { name: "outbound", kind: "string", help: "control domain's outgoing traffics" },
    ...DEVICE_SCOPE_OPTIONS,
    {
      name: "print-xml",
      kind: "bool",
      help: "print XML document rather than attach the interface",
    },
    {
      name: "managed",
      kind: "bool",
      help: "libvirt will automatically detach/attach the device from/to host",
    },
    { name: "source-mode", kind: "string", help: "mode attribute of <source/> element" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    if (args.flag("persistent") && args.flag("current")) {
      throw new ArgumentError(
        "Options --persistent and --current are mutually exclusive",
        "--persistent",
      );
    }
    for (const other of ["live", "config"]) {
      if (args.flag("current") && args.flag(other)) {
        throw new ArgumentError(
          `Options --current and --${other} are mutually exclusive`,
          "--current",
        );
      }
    }
    const xml = interfaceXml({
      type: args.required("type"),
      source: args.required("source"),
      target: args.text("target"),
      mac: args.text("mac"),
      script: args.text("script"),
      model: args.text("model"),
      alias: args.text("alias"),
      inbound: args.text("inbound"),
      outbound: args.text("outbound"),
      managed: args.flag("managed"),
      sourceMode: args.text("source-mode"),
    });
    if (args.flag("print-xml")) {
      context.print(xml);
      return;
    }
    const scope = await deviceScope(context, args, reference, true);
    try {
      await context.client.changeDevice(reference, "attach", xml, scope);
    } catch (error) {
      throw new CommandFailure("Failed to attach interface", error);
    }
    context.printExtra("Interface attached successfully\n");
  },
};
