/**
 * Domain procedures: lists, lookups, info and state, XML, define/undefine, the lifecycle
 * actions, autostart, metadata, and the small queries virsh makes around them. Each handler
 * calls the same host methods the HTTP routes call.
 *
 * @module
 */

import type { Host, ListFilter } from "../../actors/host.ts";
import { elementNamespace } from "../../actors/domain_machine.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { formatDomainXml } from "../xml/mod.ts";
import { readXml } from "../xml/xml_reader.ts";
import { writeXml } from "../xml/xml_writer.ts";
import { cString } from "./connect_procedures.ts";
import { checkFlags, definitionFromXml, lookupWire, wireDomain } from "./domain_lookup.ts";
import type { Procedure, ProcedureTable } from "./procedure.ts";
import {
  DOMAIN_LIST_MAX,
  domainType,
  nonnullString,
  optionalString,
  uuidText,
  uuidType,
  type WireDomain,
} from "./protocol.ts";
import { x, type XdrType } from "./xdr.ts";

/** `virConnectListAllDomains` flags evirt knows, and the list filter each one is. */
const LIST_FLAG_FILTERS: ReadonlyArray<[number, keyof ListFilter]> = [
  [1, "active"],
  [2, "inactive"],
  [4, "persistent"],
  [8, "transient"],
  [16, "running"],
  [32, "paused"],
  [64, "shutoff"],
  [128, "other"],
  [1024, "autostart"],
  [2048, "noAutostart"],
];

/**
 * Filter pairs evirt answers without a filter: no domain has a managed save image (256 / 512),
 * a snapshot (4096 / 8192) or a checkpoint (16384 / 32768), since evirt has none of these yet.
 */
const NONE_HAVE_PAIRS: ReadonlyArray<[number, number]> = [
  [256, 512],
  [4096, 8192],
  [16384, 32768],
];

/** Every list flag libvirt 9.0 defines. */
const LIST_FLAGS_ALL = 0xffff;

/** `VIR_DOMAIN_XML_SECURE`, `VIR_DOMAIN_XML_INACTIVE`, `UPDATE_CPU`, `MIGRATABLE`. */
const XML_FLAG_SECURE = 1;
const XML_FLAG_INACTIVE = 2;
const XML_FLAGS_ALL = 1 | 2 | 4 | 8;

/** `VIR_DOMAIN_START_PAUSED`. */
const START_PAUSED = 1;
/** `VIR_DOMAIN_DESTROY_GRACEFUL`. */
const DESTROY_GRACEFUL = 1;
/** `VIR_DOMAIN_AFFECT_LIVE`, `VIR_DOMAIN_AFFECT_CONFIG`. */
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;

/** `virDomainMetadataType`: description, title, element. */
const METADATA_TYPES = ["description", "title", "element"] as const;

const domainArgs = x.struct(["dom", domainType]);
const domainFlagsArgs = x.struct(["dom", domainType], ["flags", x.uint]);
const domainRet = x.struct(["dom", domainType]);

type DomainArgs = { dom: WireDomain; flags?: number };

/** A read of one domain: `(summary-bearing args) → ret`. */
function domainRead(
  proc: number,
  ret: XdrType,
  read: (host: Host, uuid: string, args: DomainArgs) => unknown,
  args: XdrType = domainArgs,
): Procedure {
  return {
    proc,
    readOnly: true,
    args,
    ret,
    handler: (call: DomainArgs, context) => {
      const { host } = context.target();
      return read(host, lookupWire(host, call.dom).uuid, call);
    },
  };
}

/** A lifecycle action on one domain, answered once its fact is durable. */
function domainAction(
  proc: number,
  api: string,
  allowedFlags: number,
  act: (host: Host, uuid: string, flags: number) => Promise<void>,
  args: XdrType = domainFlagsArgs,
): Procedure {
  return {
    proc,
    readOnly: false,
    args,
    ret: x.void,
    handler: async (call: DomainArgs, context) => {
      const flags = call.flags ?? 0;
      checkFlags(flags, allowedFlags, api);
      const { host } = context.target();
      await act(host, lookupWire(host, call.dom).uuid, flags);
    },
  };
}

function listFilter(flags: number): ListFilter | undefined {
  checkFlags(flags, LIST_FLAGS_ALL, "virConnectListAllDomains");
  for (const [have, haveNot] of NONE_HAVE_PAIRS) {
    if ((flags & have) !== 0 && (flags & haveNot) === 0) return undefined;
  }
  const filter: ListFilter = {};
  for (const [bit, name] of LIST_FLAG_FILTERS) if ((flags & bit) !== 0) filter[name] = true;
  return filter;
}

function domainXml(host: Host, uuid: string, flags: number): string {
  checkFlags(flags, XML_FLAGS_ALL, "virDomainGetXMLDesc");
  const domain = host.context(uuid);
  const useLive = (flags & XML_FLAG_INACTIVE) === 0 && domain.live !== null;
  const definition = useLive ? domain.live! : (domain.definition ?? domain.live!);
  return formatDomainXml(definition, {
    inactive: !useLive,
    secure: (flags & XML_FLAG_SECURE) !== 0,
    ...(useLive && domain.id !== null ? { id: domain.id } : {}),
  });
}

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

function vcpuCount(host: Host, uuid: string, flags: number): number {
  // VIR_DOMAIN_AFFECT_LIVE 1, AFFECT_CONFIG 2, VCPU_MAXIMUM 4, VCPU_GUEST 8 (refused: no agent).
  checkFlags(flags, 1 | 2 | 4, "virDomainGetVcpusFlags");
  const inspection = host.inspect(uuid);
  const definition = (flags & AFFECT_CONFIG) !== 0
    ? inspection.persistentDefinition ?? inspection.definition
    : inspection.definition;
  if ((flags & 4) !== 0) return Math.max(1, definition.vcpus);
  return definition.vcpu?.current ?? Math.max(1, definition.vcpus);
}

/** The domain procedures. */
export const DOMAIN_PROCEDURES: ProcedureTable = {
  virConnectListAllDomains: {
    proc: 273,
    readOnly: true,
    args: x.struct(["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["domains", x.array(domainType, DOMAIN_LIST_MAX)], ["ret", x.uint]),
    handler: (args: { need_results: number; flags: number }, context) => {
      const filter = listFilter(args.flags);
      const domains = filter === undefined ? [] : context.target().host.list(filter);
      if (domains.length > DOMAIN_LIST_MAX) {
        throw new VirtError(
          ErrorCode.RPC,
          `too many domains '${domains.length}' for limit '${DOMAIN_LIST_MAX}'`,
        );
      }
      return {
        domains: args.need_results ? domains.map(wireDomain) : [],
        ret: domains.length,
      };
    },
  },
  virConnectNumOfDomains: {
    proc: 51,
    readOnly: true,
    args: x.void,
    ret: x.struct(["num", x.int]),
    handler: (_args, context) => ({ num: context.target().host.list({ active: true }).length }),
  },
  virConnectListDomains: {
    proc: 37,
    readOnly: true,
    args: x.struct(["maxids", x.int]),
    ret: x.struct(["ids", x.array(x.int, DOMAIN_LIST_MAX)]),
    handler: (args: { maxids: number }, context) => {
      checkMax(args.maxids, "maxids");
      const active = context.target().host.list({ active: true });
      return { ids: active.slice(0, args.maxids).map((summary) => summary.id ?? -1) };
    },
  },
  virConnectNumOfDefinedDomains: {
    proc: 25,
    readOnly: true,
    args: x.void,
    ret: x.struct(["num", x.int]),
    handler: (_args, context) => ({ num: context.target().host.list({ inactive: true }).length }),
  },
  virConnectListDefinedDomains: {
    proc: 21,
    readOnly: true,
    args: x.struct(["maxnames", x.int]),
    ret: x.struct(["names", x.array(nonnullString, DOMAIN_LIST_MAX)]),
    handler: (args: { maxnames: number }, context) => {
      checkMax(args.maxnames, "maxnames");
      const inactive = context.target().host.list({ inactive: true });
      return { names: inactive.slice(0, args.maxnames).map((summary) => summary.name) };
    },
  },
  virDomainLookupByName: {
    proc: 23,
    readOnly: true,
    args: x.struct(["name", nonnullString]),
    ret: domainRet,
    handler: (args: { name: string }, context) => {
      const { host } = context.target();
      const uuid = host.uuidOfName(args.name);
      if (uuid === undefined) {
        throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching name '${args.name}'`);
      }
      return { dom: wireDomain(host.lookup(uuid)) };
    },
  },
  virDomainLookupByUUID: {
    proc: 24,
    readOnly: true,
    args: x.struct(["uuid", uuidType]),
    ret: domainRet,
    handler: (args: { uuid: Uint8Array }, context) => {
      const uuid = uuidText(args.uuid);
      const found = context.target().host.list().find((summary) => summary.uuid === uuid);
      if (found === undefined) {
        throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${uuid}'`);
      }
      return { dom: wireDomain(found) };
    },
  },
  virDomainLookupByID: {
    proc: 22,
    readOnly: true,
    args: x.struct(["id", x.int]),
    ret: domainRet,
    handler: (args: { id: number }, context) => {
      const found = context.target().host.list({ active: true }).find((summary) =>
        summary.id === args.id
      );
      if (found === undefined) {
        throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching id ${args.id}`);
      }
      return { dom: wireDomain(found) };
    },
  },
  virDomainGetInfo: domainRead(
    16,
    x.struct(
      ["state", x.uint],
      ["maxMem", x.uhyper],
      ["memory", x.uhyper],
      ["nrVirtCpu", x.uint],
      ["cpuTime", x.uhyper],
    ),
    (host, uuid) => {
      const info = host.info(uuid);
      return {
        state: info.state,
        maxMem: info.maxMemoryKiB,
        memory: info.memoryKiB,
        nrVirtCpu: info.vcpus,
        cpuTime: info.cpuTimeNs,
      };
    },
  ),
  virDomainGetState: domainRead(
    212,
    x.struct(["state", x.int], ["reason", x.int]),
    (host, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virDomainGetState");
      const summary = host.lookup(uuid);
      return { state: summary.state, reason: summary.reason };
    },
    domainFlagsArgs,
  ),
  virDomainGetXMLDesc: domainRead(
    14,
    x.struct(["xml", nonnullString]),
    (host, uuid, args) => ({ xml: domainXml(host, uuid, args.flags ?? 0) }),
    domainFlagsArgs,
  ),
  virDomainIsActive: domainRead(
    150,
    x.struct(["active", x.int]),
    (host, uuid) => ({ active: host.lookup(uuid).active ? 1 : 0 }),
  ),
  virDomainIsPersistent: domainRead(
    151,
    x.struct(["persistent", x.int]),
    (host, uuid) => ({ persistent: host.lookup(uuid).persistent ? 1 : 0 }),
  ),
  virDomainIsUpdated: domainRead(
    202,
    x.struct(["updated", x.int]),
    // evirt applies a redefinition of a running domain at its next start, as libvirt; the live
    // definition then differs from the persistent one.
    (host, uuid) => {
      const domain = host.context(uuid);
      const updated = domain.live !== null && domain.definition !== null &&
        JSON.stringify(domain.live) !== JSON.stringify(domain.definition);
      return { updated: updated ? 1 : 0 };
    },
  ),
  virDomainHasManagedSaveImage: domainRead(
    183,
    x.struct(["result", x.int]),
    // evirt has no managed save: no domain has an image.
    (host, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virDomainHasManagedSaveImage");
      host.lookup(uuid);
      return { result: 0 };
    },
    domainFlagsArgs,
  ),
  virDomainGetOSType: domainRead(
    19,
    x.struct(["type", nonnullString]),
    (host, uuid) => ({ type: host.inspect(uuid).definition.os.type ?? "hvm" }),
  ),
  virDomainGetMaxMemory: domainRead(
    17,
    x.struct(["memory", x.uhyper]),
    (host, uuid) => ({ memory: host.inspect(uuid).definition.memoryKiB }),
  ),
  virDomainGetMaxVcpus: domainRead(
    18,
    x.struct(["num", x.int]),
    (host, uuid) => ({ num: vcpuCount(host, uuid, 4) }),
  ),
  virDomainGetVcpusFlags: domainRead(
    200,
    x.struct(["num", x.int]),
    (host, uuid, args) => ({ num: vcpuCount(host, uuid, args.flags ?? 0) }),
    domainFlagsArgs,
  ),
  virDomainGetSecurityLabel: domainRead(
    121,
    x.struct(["label", x.array(x.int, 4097)], ["enforcing", x.int]),
    // No security driver: every domain's label is empty and nothing is enforced.
    (host, uuid) => {
      host.lookup(uuid);
      return { label: cString(""), enforcing: 0 };
    },
  ),
  virDomainGetAutostart: domainRead(
    15,
    x.struct(["autostart", x.int]),
    (host, uuid) => ({ autostart: host.lookup(uuid).autostart ? 1 : 0 }),
  ),
  virDomainGetControlInfo: domainRead(
    229,
    x.struct(["state", x.uint], ["details", x.uint], ["stateTime", x.uhyper]),
    // Commands never hold a monitor hostage in evirt (a busy domain answers "busy with …"), so
    // the control interface is always VIR_DOMAIN_CONTROL_OK.
    (host, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virDomainGetControlInfo");
      if (!host.lookup(uuid).active) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
      }
      return { state: 0, details: 0, stateTime: 0 };
    },
    domainFlagsArgs,
  ),
  virDomainGetJobInfo: domainRead(
    163,
    x.struct(
      ["type", x.int],
      ...Array.from({ length: 11 }, (_, index) => {
        const names = [
          "timeElapsed",
          "timeRemaining",
          "dataTotal",
          "dataProcessed",
          "dataRemaining",
          "memTotal",
          "memProcessed",
          "memRemaining",
          "fileTotal",
          "fileProcessed",
          "fileRemaining",
        ];
        return [names[index], x.uhyper] as const;
      }),
    ),
    // evirt has no background jobs (migration, dump, save): VIR_DOMAIN_JOB_NONE.
    (host, uuid) => {
      if (!host.lookup(uuid).active) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
      }
      return {
        type: 0,
        timeElapsed: 0,
        timeRemaining: 0,
        dataTotal: 0,
        dataProcessed: 0,
        dataRemaining: 0,
        memTotal: 0,
        memProcessed: 0,
        memRemaining: 0,
        fileTotal: 0,
        fileProcessed: 0,
        fileRemaining: 0,
      };
    },
  ),
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
  virDomainSetAutostart: {
    proc: 29,
    readOnly: false,
    args: x.struct(["dom", domainType], ["autostart", x.int]),
    ret: x.void,
    handler: async (args: { dom: WireDomain; autostart: number }, context) => {
      const { host } = context.target();
      await host.setAutostart(lookupWire(host, args.dom).uuid, args.autostart !== 0);
    },
  },
  virDomainDefineXML: {
    proc: 11,
    readOnly: false,
    args: x.struct(["xml", nonnullString]),
    ret: domainRet,
    handler: (args: { xml: string }, context) => define(context.target(), args.xml),
  },
  virDomainDefineXMLFlags: {
    proc: 350,
    readOnly: false,
    args: x.struct(["xml", nonnullString], ["flags", x.uint]),
    ret: domainRet,
    handler: (args: { xml: string; flags: number }, context) => {
      // VIR_DOMAIN_DEFINE_VALIDATE: evirt validates every definition anyway.
      checkFlags(args.flags, 1, "virDomainDefineXMLFlags");
      return define(context.target(), args.xml);
    },
  },
  virDomainCreateXML: {
    proc: 10,
    readOnly: false,
    args: x.struct(["xml_desc", nonnullString], ["flags", x.uint]),
    ret: domainRet,
    handler: async (args: { xml_desc: string; flags: number }, context) => {
      checkFlags(args.flags, START_PAUSED, "virDomainCreateXML");
      const target = context.target();
      const definition = definitionFromXml(args.xml_desc, target.xmlMaxBytes, false);
      const { uuid } = await target.host.create(definition, {
        paused: (args.flags & START_PAUSED) !== 0,
      });
      return { dom: wireDomain(target.host.lookup(uuid)) };
    },
  },
  virDomainCreate: domainAction(
    9,
    "virDomainCreate",
    0,
    (host, uuid) => host.start(uuid),
    domainArgs,
  ),
  virDomainCreateWithFlags: {
    proc: 196,
    readOnly: false,
    args: domainFlagsArgs,
    ret: domainRet,
    handler: async (args: { dom: WireDomain; flags: number }, context) => {
      checkFlags(args.flags, START_PAUSED, "virDomainCreateWithFlags");
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      await host.start(uuid, { paused: (args.flags & START_PAUSED) !== 0 });
      return { dom: wireDomain(host.lookup(uuid)) };
    },
  },
  virDomainUndefine: domainAction(
    35,
    "virDomainUndefine",
    0,
    (host, uuid) => host.undefine(uuid),
    domainArgs,
  ),
  // MANAGED_SAVE 1, SNAPSHOTS_METADATA 2, NVRAM 4, KEEP_NVRAM 8, CHECKPOINTS_METADATA 16, TPM 32,
  // KEEP_TPM 64: evirt keeps none of these, so each asks to remove nothing.
  virDomainUndefineFlags: domainAction(
    231,
    "virDomainUndefineFlags",
    0x7f,
    (host, uuid) => host.undefine(uuid),
  ),
  virDomainShutdown: domainAction(
    33,
    "virDomainShutdown",
    0,
    (host, uuid) => host.shutdown(uuid),
    domainArgs,
  ),
  // VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN is what evirt's shutdown does.
  virDomainShutdownFlags: domainAction(
    258,
    "virDomainShutdownFlags",
    1,
    (host, uuid) => host.shutdown(uuid),
  ),
  virDomainDestroy: domainAction(
    12,
    "virDomainDestroy",
    0,
    (host, uuid) => host.destroy(uuid),
    domainArgs,
  ),
  virDomainDestroyFlags: domainAction(
    234,
    "virDomainDestroyFlags",
    DESTROY_GRACEFUL,
    (host, uuid, flags) => host.destroy(uuid, { graceful: (flags & DESTROY_GRACEFUL) !== 0 }),
  ),
  // VIR_DOMAIN_REBOOT_ACPI_POWER_BTN is what evirt's reboot does.
  virDomainReboot: domainAction(27, "virDomainReboot", 1, (host, uuid) => host.reboot(uuid)),
  virDomainReset: domainAction(245, "virDomainReset", 0, (host, uuid) => host.reset(uuid)),
  virDomainSuspend: domainAction(
    34,
    "virDomainSuspend",
    0,
    (host, uuid) => host.suspend(uuid),
    domainArgs,
  ),
  virDomainResume: domainAction(
    28,
    "virDomainResume",
    0,
    (host, uuid) => host.resume(uuid),
    domainArgs,
  ),
};

async function define(
  target: { host: Host; xmlMaxBytes: number },
  xml: string,
): Promise<{ dom: WireDomain }> {
  const definition = definitionFromXml(xml, target.xmlMaxBytes, false);
  const { uuid } = await target.host.define(definition);
  return { dom: wireDomain(target.host.lookup(uuid)) };
}

function checkMax(value: number, name: string): void {
  if (value < 0 || value > DOMAIN_LIST_MAX) {
    throw new VirtError(
      ErrorCode.RPC,
      `${name} '${value}' must be between 0 and ${DOMAIN_LIST_MAX}`,
      { where: name },
    );
  }
}
