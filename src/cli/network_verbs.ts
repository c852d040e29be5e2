/**
 * The network verbs (`net-list`, `net-info`, `net-uuid`, `net-name`, `net-dumpxml`,
 * `net-define`, `net-create`, `net-start`, `net-destroy`, `net-undefine`, `net-autostart`,
 * `net-edit`, `net-dhcp-leases`, `net-update`), with virsh's options, messages and failure
 * lines. Each has its file in `verbs/` that the registry loads.
 *
 * @module
 */

import type { NetworkLeaseView, NetworkView } from "../api/network_views.ts";
import { NetworkClient } from "../client/network_client.ts";
import { ErrorCode } from "../model/errors.ts";
import { ArgumentError, type OptionSpec, type VerbArguments } from "./arguments.ts";
import {
  autostartVerb,
  type ObjectCommand,
  objectCommand,
  type ObjectKindWords,
  undefineVerb,
} from "./object_verbs.ts";
import { readBoundedText } from "./document_file.ts";
import { formatTable } from "./layouts.ts";
import { labelled, yesNo } from "./storage_layouts.ts";
import { byName } from "./storage_verb_support.ts";
import { printXml, XPATH_OPTIONS } from "./xml_output.ts";
import type { Verb, VerbContext } from "./verb.ts";
import { editDocument } from "./verbs/edit.ts";
import { CommandFailure } from "./command_failure.ts";
import { metadataScope } from "./metadata_scope.ts";
import { NETWORK_UPDATE_COMMANDS, NETWORK_UPDATE_SECTIONS } from "../model/network_update.ts";

/** virsh's `<network>` data option. */
export const NETWORK_OPTION: OptionSpec = {
  name: "network",
  kind: "string",
  positional: true,
  required: true,
  help: "network name or uuid",
};

const FILE_OPTION: OptionSpec = {
  name: "file",
  kind: "string",
  positional: true,
  required: true,
  help: "file containing an XML network description",
};

function networksOf(context: VerbContext): NetworkClient {
  return new NetworkClient(context.client);
}

/** Runs a network command: a missing network is `failed to get network 'REF'`. */
const networkCommand: ObjectCommand = objectCommand("network", ErrorCode.NO_NETWORK);

/** Networks, as the shared object verbs name them. */
const NETWORK_WORDS: ObjectKindWords = {
  prefix: "net",
  noun: "network",
  option: NETWORK_OPTION,
  command: networkCommand,
};

/** `virsh net-list`: the table, or `--name` / `--uuid` lines. */
export function formatNetworkList(
  networks: readonly NetworkView[],
  column: "table" | "name" | "uuid",
  quiet: boolean,
): string {
  if (column !== "table") {
    return networks.map((net) => `${column === "name" ? net.name : net.uuid}\n`).join("");
  }
  return formatTable(
    ["Name", "State", "Autostart", "Persistent"],
    networks.map((net) => [
      net.name,
      net.active ? "active" : "inactive",
      yesNo(net.autostart),
      yesNo(net.persistent),
    ]),
    !quiet,
  );
}

/** `virsh net-info`. */
export function formatNetworkInfo(network: NetworkView): string {
  const lines: [string, string][] = [
    ["Name:", network.name],
    ["UUID:", network.uuid],
    ["Active:", yesNo(network.active)],
    ["Persistent:", yesNo(network.persistent)],
    ["Autostart:", yesNo(network.autostart)],
  ];
  if (network.bridge !== undefined) lines.push(["Bridge:", network.bridge]);
  return labelled(lines);
}

/** The `net-list` verb. */
export const netListVerb: Verb = {
  name: "net-list",
  summary: "list networks",
  json: true,
  options: [
    { name: "inactive", kind: "bool", help: "list inactive networks" },
    { name: "all", kind: "bool", help: "list inactive & active networks" },
    { name: "persistent", kind: "bool", help: "list persistent networks" },
    { name: "transient", kind: "bool", help: "list transient networks" },
    { name: "autostart", kind: "bool", help: "list networks with autostart enabled" },
    { name: "no-autostart", kind: "bool", help: "list networks with autostart disabled" },
    { name: "uuid", kind: "bool", help: "list uuid's only" },
    { name: "name", kind: "bool", help: "list network names only" },
    { name: "table", kind: "bool", help: "list table (default)" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const columns = ["table", "name", "uuid"].filter((each) => args.flag(each));
    if (columns.length > 1) {
      throw new ArgumentError(
        "Only one argument from --table, --name and --uuid may be specified.",
        columns[1],
      );
    }
    const all = args.flag("all");
    const inactive = args.flag("inactive");
    const pair = (yes: boolean, no: boolean, value: boolean) => yes === no || value === yes;
    const networks = byName(await networksOf(context).list()).filter((net) =>
      (all || (inactive ? !net.active : net.active)) &&
      pair(args.flag("persistent"), args.flag("transient"), net.persistent) &&
      pair(args.flag("autostart"), args.flag("no-autostart"), net.autostart)
    );
    if (args.flag("json")) {
      context.json(networks);
      return;
    }
    const column = (columns[0] ?? "table") as "table" | "name" | "uuid";
    context.print(formatNetworkList(networks, column, context.quiet));
  },
};

/** The `net-info` verb. */
export const netInfoVerb: Verb = {
  name: "net-info",
  summary: "network information",
  json: true,
  options: [NETWORK_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("network");
    const info = await networkCommand(
      reference,
      undefined,
      () => networksOf(context).info(reference),
    );
    if (args.flag("json")) context.json(info);
    else context.print(formatNetworkInfo(info));
  },
};

/** A verb that prints one field of a network found by name or uuid. */
function fieldVerb(name: string, summary: string, help: string, field: "uuid" | "name"): Verb {
  return {
    name,
    summary,
    options: [{ ...NETWORK_OPTION, help }],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required("network");
      const info = await networkCommand(
        reference,
        undefined,
        () => networksOf(context).info(reference),
      );
      context.print(`${info[field]}\n`);
    },
  };
}

/** The `net-uuid` verb. */
export const netUuidVerb: Verb = fieldVerb(
  "net-uuid",
  "convert a network name to network UUID",
  "network name",
  "uuid",
);

/** The `net-name` verb. */
export const netNameVerb: Verb = fieldVerb(
  "net-name",
  "convert a network UUID to network name",
  "network uuid",
  "name",
);

/** The `net-dumpxml` verb. */
export const netDumpxmlVerb: Verb = {
  name: "net-dumpxml",
  summary: "network information in XML",
  options: [
    NETWORK_OPTION,
    { name: "inactive", kind: "bool", help: "show inactive defined XML" },
    ...XPATH_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("network");
    const xml = await networkCommand(
      reference,
      undefined,
      () => networksOf(context).xml(reference, args.flag("inactive")),
    );
    await printXml(context, args, xml);
  },
};

/** The `net-define` verb. */
export const netDefineVerb: Verb = {
  name: "net-define",
  summary: "define an inactive persistent virtual network or modify " +
    "an existing persistent one from an XML file",
  options: [FILE_OPTION, {
    name: "validate",
    kind: "bool",
    help: "validate the XML against the schema",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const network = await networkCommand(
      file,
      `Failed to define network from ${file}`,
      () => networksOf(context).define(xml),
    );
    context.printExtra(`Network ${network.name} defined from ${file}\n`);
  },
};

/** The `net-create` verb. */
export const netCreateVerb: Verb = {
  name: "net-create",
  summary: "create a network from an XML file",
  options: [FILE_OPTION, {
    name: "validate",
    kind: "bool",
    help: "validate the XML against the schema",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const network = await networkCommand(
      file,
      `Failed to create network from ${file}`,
      () => networksOf(context).create(xml),
    );
    context.printExtra(`Network ${network.name} created from ${file}\n`);
  },
};

/** A verb that starts or stops a network and says so as virsh does. */
function actionVerb(action: "start" | "destroy", summary: string, done: string): Verb {
  return {
    name: `net-${action}`,
    summary,
    options: [NETWORK_OPTION],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required("network");
      await networkCommand(
        reference,
        `Failed to ${action} network ${reference}`,
        () => networksOf(context).action(reference, action),
      );
      context.printExtra(`Network ${reference} ${done}\n`);
    },
  };
}

/** The `net-start` verb. */
export const netStartVerb: Verb = actionVerb(
  "start",
  "start a (previously defined) inactive network",
  "started",
);

/** The `net-destroy` verb. */
export const netDestroyVerb: Verb = actionVerb(
  "destroy",
  "destroy (stop) a network",
  "destroyed",
);

/** The `net-undefine` verb. */
export const netUndefineVerb: Verb = undefineVerb(
  NETWORK_WORDS,
  "undefine a persistent network",
  (context, reference) => networksOf(context).undefine(reference),
);

/** The `net-autostart` verb. */
export const netAutostartVerb: Verb = autostartVerb(
  NETWORK_WORDS,
  (context, reference, enable) => networksOf(context).setAutostart(reference, enable),
);

/** A lease's expiry as virsh prints it: `%Y-%m-%d %H:%M:%S` in local time. */
function expiryText(seconds: number): string {
  const date = new Date(seconds * 1000);
  const two = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** `virsh net-dhcp-leases`: its table, sorted by MAC address as virsh sorts it. */
export function formatNetworkLeases(leases: readonly NetworkLeaseView[], quiet: boolean): string {
  const sorted = [...leases].sort((a, b) =>
    a.mac.toLowerCase() < b.mac.toLowerCase()
      ? -1
      : a.mac.toLowerCase() > b.mac.toLowerCase()
      ? 1
      : 0
  );
  return formatTable(
    ["Expiry Time", "MAC address", "Protocol", "IP address", "Hostname", "Client ID or DUID"],
    sorted.map((lease) => [
      expiryText(lease.expiryTime),
      lease.mac || "-",
      lease.type,
      `${lease.ipaddr}/${lease.prefix}`,
      lease.hostname ?? "-",
      lease.clientid ?? "-",
    ]),
    !quiet,
  );
}

/** The line virsh prints after a successful `net-update`. */
function updatedLine(name: string, config: boolean, live: boolean, active: boolean): string {
  if (config && live) return `Updated network ${name} persistent config and live state`;
  if (config) return `Updated network ${name} persistent config`;
  if (live || active) return `Updated network ${name} live state`;
  return `Updated network ${name} persistent config`;
}

/** The `net-update` verb: one command on one section, with `--config`/`--live`/`--current`. */
export const netUpdateVerb: Verb = {
  name: "net-update",
  summary: "update parts of an existing network's configuration",
  options: [
    NETWORK_OPTION,
    {
      name: "command",
      kind: "string",
      positional: true,
      required: true,
      help: "type of update (add-first, add-last (add), delete, or modify)",
    },
    {
      name: "section",
      kind: "string",
      positional: true,
      required: true,
      help: "which section of network configuration to update",
    },
    {
      name: "xml",
      kind: "string",
      positional: true,
      required: true,
      help:
        "name of file containing xml (or, if it starts with '<', the complete xml element itself) to add/modify, or to be matched for search",
    },
    {
      name: "parent-index",
      kind: "integer",
      min: -(2 ** 31),
      max: 2 ** 31 - 1,
      help: "which parent object to search through",
    },
    { name: "config", kind: "bool", help: "affect next network startup" },
    { name: "live", kind: "bool", help: "affect running network" },
    { name: "current", kind: "bool", help: "affect current state of network" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const scope = metadataScope(args);
    const reference = args.required("network");
    const networks = networksOf(context);
    const network = await networkCommand(reference, undefined, () => networks.info(reference));
    const commandWord = args.required("command");
    const command = commandWord === "add" ? "add-last" : commandWord;
    if (!(command in NETWORK_UPDATE_COMMANDS) || command === "none") {
      throw new CommandFailure(`unrecognized command name '${commandWord}'`);
    }
    const section = args.required("section");
    if (!(section in NETWORK_UPDATE_SECTIONS) || section === "none") {
      throw new CommandFailure(`unrecognized section name '${section}'`);
    }
    const parentIndex = args.integer("parent-index") ?? -1;
    const given = args.required("xml");
    const xml = given.startsWith("<") ? given : await readBoundedText(given, context.xmlMaxBytes);
    const config = scope.config === true;
    const live = scope.live === true;
    const after = await networkCommand(
      reference,
      `Failed to update network ${network.name}`,
      () =>
        networks.update(network.uuid, {
          command,
          section,
          xml,
          parentIndex,
          ...scope,
        }),
    );
    context.printExtra(updatedLine(network.name, config, live, after.active));
  },
};

/** The `net-dhcp-leases` verb. */
export const netDhcpLeasesVerb: Verb = {
  name: "net-dhcp-leases",
  summary: "print lease info for a given network",
  json: true,
  options: [NETWORK_OPTION, { name: "mac", kind: "string", help: "MAC address" }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("network");
    const mac = args.text("mac");
    const leases = await networkCommand(
      reference,
      `Failed to get leases info for ${reference}`,
      () => networksOf(context).leases(reference, mac),
    );
    if (args.flag("json")) context.json(leases);
    else context.print(formatNetworkLeases(leases, context.quiet));
  },
};

/** The `net-edit` verb: the inactive XML in the editor, then a define. */
export const netEditVerb: Verb = {
  name: "net-edit",
  summary: "edit XML configuration for a network",
  options: [NETWORK_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("network");
    const networks = networksOf(context);
    const info = await networkCommand(reference, undefined, () => networks.info(reference));
    await editDocument(context, {
      name: info.name,
      original: await networks.xml(info.uuid, true),
      define: async (xml) => (await networks.define(xml)).name,
      notChanged: (name) => `Network ${name} XML configuration not changed.\n`,
      edited: (name) => `Network ${name} XML configuration edited.\n`,
    });
  },
};
