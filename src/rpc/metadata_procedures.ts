/**
 * Metadata procedures: a domain's title, description and namespaced metadata elements, read and
 * changed through the host as the HTTP routes do.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import { elementNamespace } from "../../actors/domain_machine.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { readXml } from "../xml/xml_reader.ts";
import { writeXml } from "../xml/xml_writer.ts";
import { checkFlags, domainRead, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, nonnullString, optionalString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_DOMAIN_AFFECT_LIVE`, `VIR_DOMAIN_AFFECT_CONFIG`. */
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;

/** `virDomainMetadataType`: description, title, element. */
const METADATA_TYPES = ["description", "title", "element"] as const;

function metadataOf(host: Host, uuid: string, type: number, uri: string | null, flags: number) {
  checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, "virDomainGetMetadata");
  const domain = host.context(uuid);
  const config = (flags & AFFECT_CONFIG) !== 0;
  const definition = !config && domain.live !== null ? domain.live : domain.definition;
  const missing = () =>
    new VirtError(ErrorCode.NO_DOMAIN_METADATA, "Requested metadata element is not present");
  const kind = METADATA_TYPES[type];
  if (kind === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `unknown metadata type '${type}'`, {
      where: "type",
    });
  }
  if (definition === null) throw missing();
  if (kind !== "element") {
    const value = definition[kind];
    if (value === undefined) throw missing();
    return value;
  }
  if (uri === null || uri === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "metadata element needs a namespace uri", {
      where: "uri",
    });
  }
  const element = (definition.metadata ?? []).find((entry) => elementNamespace(entry) === uri);
  if (element === undefined) throw missing();
  return writeXml(element);
}

interface SetMetadataArgs {
  dom: WireDomain;
  type: number;
  metadata: string | null;
  key: string | null;
  uri: string | null;
  flags: number;
}

async function setMetadata(host: Host, uuid: string, args: SetMetadataArgs): Promise<void> {
  checkFlags(args.flags, AFFECT_LIVE | AFFECT_CONFIG, "virDomainSetMetadata");
  const scope = {
    live: (args.flags & AFFECT_LIVE) !== 0 ? true : undefined,
    config: (args.flags & AFFECT_CONFIG) !== 0 ? true : undefined,
  };
  const kind = METADATA_TYPES[args.type];
  if (kind === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `unknown metadata type '${args.type}'`, {
      where: "type",
    });
  }
  if (kind !== "element") {
    const value = args.metadata === "" ? null : args.metadata;
    if (kind === "title" && value !== null && value.includes("\n")) {
      throw new VirtError(ErrorCode.INVALID_ARG, "title can't contain newlines", {
        where: "metadata",
      });
    }
    await host.setMetadata(uuid, { kind, value }, scope);
    return;
  }
  if (args.uri === null || args.uri === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "metadata element needs a namespace uri", {
      where: "uri",
    });
  }
  if (args.metadata === null || args.metadata === "") {
    await host.setMetadata(uuid, { kind, nsuri: args.uri, element: null }, scope);
    return;
  }
  const key = args.key ?? "";
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
    throw new VirtError(ErrorCode.INVALID_ARG, "metadata element needs a valid namespace key", {
      where: "key",
    });
  }
  const parsed = readXml(args.metadata);
  const local = parsed.name.includes(":") ? parsed.name.split(":")[1] : parsed.name;
  const attributes: Record<string, string> = { [`xmlns:${key}`]: args.uri };
  for (const [name, value] of Object.entries(parsed.attributes ?? {})) {
    if (name === "xmlns" || name.startsWith("xmlns:")) continue;
    attributes[name] = value;
  }
  const element = { ...parsed, name: `${key}:${local}`, attributes };
  await host.setMetadata(uuid, { kind, nsuri: args.uri, key, element }, scope);
}

/** The metadata procedures. */
export const METADATA_PROCEDURES: ProcedureTable = {
  virDomainGetMetadata: domainRead(
    265,
    x.struct(["metadata", nonnullString]),
    (host, uuid, args) => {
      const call = args as unknown as { type: number; uri: string | null; flags: number };
      return { metadata: metadataOf(host, uuid, call.type, call.uri, call.flags) };
    },
    x.struct(["dom", domainType], ["type", x.int], ["uri", optionalString], ["flags", x.uint]),
  ),
  virDomainSetMetadata: {
    proc: 264,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["type", x.int],
      ["metadata", optionalString],
      ["key", optionalString],
      ["uri", optionalString],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (args: SetMetadataArgs, context) => {
      const { host } = context.target();
      await setMetadata(host, lookupWire(host, args.dom).uuid, args);
    },
  },
};
