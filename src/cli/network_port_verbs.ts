/**
 * The network port verbs (`net-port-create`, `net-port-list`, `net-port-dumpxml`,
 * `net-port-delete`), with virsh's options, lines and failure messages. Each has its file in
 * `verbs/` that the registry loads.
 *
 * @module
 */

import { NetworkClient } from "../client/network_client.ts";
import { ErrorCode, isVirtError } from "../model/errors.ts";
import type { OptionSpec, VerbArguments } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";
import { readBoundedText } from "./document_file.ts";
import { formatTable } from "./layouts.ts";
import { NETWORK_OPTION } from "./network_verbs.ts";
import { objectCommand } from "./object_verbs.ts";
import type { Verb, VerbContext } from "./verb.ts";

const PORT_OPTION: OptionSpec = {
  name: "port",
  kind: "string",
  positional: true,
  required: true,
  help: "port UUID",
};

const networkCommand = objectCommand("network", ErrorCode.NO_NETWORK);

/** The network's uuid, or virsh's `failed to get network 'REF'`. */
async function networkUuid(client: NetworkClient, reference: string): Promise<string> {
  return (await networkCommand(reference, undefined, () => client.info(reference))).uuid;
}

/** Runs a command on one port: a missing one is virsh's `failed to get network port 'REF'`. */
async function portCommand<T>(reference: string, line: string, command: () => Promise<T>) {
  try {
    return await command();
  } catch (error) {
    if (isVirtError(error, ErrorCode.NO_NETWORK_PORT)) {
      throw new CommandFailure(`failed to get network port '${reference}'`);
    }
    throw new CommandFailure(line, error);
  }
}

/** `virsh net-port-list`: the table, or `--uuid` lines. */
export function formatPortList(uuids: readonly string[], onlyUuids: boolean): string {
  if (onlyUuids) return uuids.map((uuid) => `${uuid}\n`).join("");
  return formatTable(["UUID"], uuids.map((uuid) => [uuid]));
}

/** The `net-port-create` verb. */
export const netPortCreateVerb: Verb = {
  name: "net-port-create",
  summary: "create a network port from an XML file",
  options: [NETWORK_OPTION, {
    name: "file",
    kind: "string",
    positional: true,
    required: true,
    help: "file containing an XML network port description",
  }, { name: "validate", kind: "bool", help: "validate the XML against the schema" }],
  async run(context: VerbContext, args: VerbArguments) {
    const client = new NetworkClient(context.client);
    const network = await networkUuid(client, args.required("network"));
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    // virsh 9.0's own words for a failed port creation.
    const port = await portCommand(
      file,
      `Failed to create network from ${file}`,
      () => client.createPort(network, xml),
    );
    context.printExtra(`Network port ${port.uuid} created from ${file}\n`);
  },
};

/** The `net-port-list` verb. */
export const netPortListVerb: Verb = {
  name: "net-port-list",
  summary: "list network ports",
  options: [
    NETWORK_OPTION,
    { name: "uuid", kind: "bool", help: "list uuid's only" },
    { name: "table", kind: "bool", help: "list table (default)" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const client = new NetworkClient(context.client);
    const network = await networkUuid(client, args.required("network"));
    const ports = await networkCommand(
      network,
      "Failed to list network ports",
      () => client.ports(network),
    );
    context.print(formatPortList(ports.map((port) => port.uuid), args.flag("uuid")));
  },
};

/** The `net-port-dumpxml` verb. */
export const netPortDumpxmlVerb: Verb = {
  name: "net-port-dumpxml",
  summary: "network port information in XML",
  options: [NETWORK_OPTION, PORT_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const client = new NetworkClient(context.client);
    const network = await networkUuid(client, args.required("network"));
    const port = args.required("port");
    const xml = await portCommand(
      port,
      `failed to get network port '${port}'`,
      () => client.portXml(network, port),
    );
    context.print(xml);
  },
};

/** The `net-port-delete` verb. */
export const netPortDeleteVerb: Verb = {
  name: "net-port-delete",
  summary: "delete the specified network port",
  options: [NETWORK_OPTION, PORT_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const client = new NetworkClient(context.client);
    const network = await networkUuid(client, args.required("network"));
    const port = args.required("port");
    await portCommand(
      port,
      `Failed to delete network port ${port}`,
      () => client.deletePort(network, port),
    );
    context.printExtra(`Network port ${port} deleted\n`);
  },
};
