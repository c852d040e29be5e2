/**
 * Domain read procedures: lists, lookups, info and state, XML, and the small queries virsh makes
 * around them. Each handler calls the same host methods the HTTP routes call. Metadata is in
 * `metadata_procedures.ts`, define and the lifecycle in `lifecycle_procedures.ts`.
 *
 * @module
 */

import { hostJobStats } from "../../actors/domain_jobs.ts";
import { jobInfoOf } from "./domain_job_params.ts";
import { vcpuCountOf } from "../../actors/resource_commands.ts";
import type { Host, ListFilter } from "../../actors/host.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { formatDomainXml } from "../xml/mod.ts";
import { withBlockJobMirrors } from "../model/block_jobs.ts";
import { liveFactsOf, withLiveFacts } from "../model/live_facts.ts";
import { cString } from "./connect_procedures.ts";
import {
  checkFlags,
  type DomainArgs,
  domainFlagsArgs,
  domainRead,
  domainRet,
  LIST_FLAG_FILTERS,
  lookupWire,
  wireDomain,
} from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  DOMAIN_LIST_MAX,
  DOMAIN_MESSAGES_MAX,
  domainType,
  nonnullString,
  uuidText,
  uuidType,
} from "./protocol.ts";
import { x } from "./xdr.ts";

/**
 * Filter pairs evirt answers without a filter: no domain has a snapshot (4096 / 8192) or a
 * checkpoint (16384 / 32768), since evirt has none of these yet.
 */
const NONE_HAVE_PAIRS: ReadonlyArray<[number, number]> = [
  [4096, 8192],
  [16384, 32768],
];

/** Every list flag libvirt 9.0 defines. */
const LIST_FLAGS_ALL = 0xffff;

/** `VIR_DOMAIN_XML_SECURE`, `VIR_DOMAIN_XML_INACTIVE`, `UPDATE_CPU`, `MIGRATABLE`. */
const XML_FLAG_SECURE = 1;
const XML_FLAG_INACTIVE = 2;
const XML_FLAGS_ALL = 1 | 2 | 4 | 8;

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
  const definition = useLive
    ? withBlockJobMirrors(
      withLiveFacts(domain.live!, liveFactsOf(domain.runtime)),
      domain.blockJobs,
    )
    : (domain.definition ?? domain.live!);
  return formatDomainXml(definition, {
    inactive: !useLive,
    secure: (flags & XML_FLAG_SECURE) !== 0,
    ...(useLive && domain.id !== null ? { id: domain.id } : {}),
  });
}

function vcpuCount(host: Host, uuid: string, flags: number): number {
  // VIR_DOMAIN_AFFECT_LIVE 1, AFFECT_CONFIG 2, VCPU_MAXIMUM 4, VCPU_GUEST 8: the driver's checks.
  return vcpuCountOf(host.inspect(uuid), flags);
}

/** The domain procedures. */
/** The domain read procedures. */
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
      try {
        return { dom: wireDomain(context.target().host.lookup(uuid)) };
      } catch (error) {
        if (!(error instanceof VirtError && error.code === ErrorCode.NO_DOMAIN)) throw error;
        throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${uuid}'`);
      }
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
  virDomainGetXMLDesc: {
    proc: 14,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["xml", nonnullString]),
    handler: (call: DomainArgs, context) => {
      // libvirt refuses the secure flag on a read-only connection before it looks at the domain:
      // the secure XML carries the graphics passwords.
      if (context.readOnly && ((call.flags ?? 0) & XML_FLAG_SECURE) !== 0) {
        throw new VirtError(ErrorCode.OPERATION_DENIED, "virDomainGetXMLDesc with secure flag");
      }
      const { host } = context.target();
      return { xml: domainXml(host, lookupWire(host, call.dom).uuid, call.flags ?? 0) };
    },
  },
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
  // virsh dominfo asks for them; evirt records no taint or deprecation messages yet.
  virDomainGetMessages: domainRead(
    426,
    x.struct(["msgs", x.array(nonnullString, DOMAIN_MESSAGES_MAX)]),
    (_host, _uuid, args) => {
      checkFlags(args.flags ?? 0, 0b11, "virDomainGetMessages");
      return { msgs: [] };
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
    // A migration's, save's or restore's progress (`domain_jobs.ts`); none: VIR_DOMAIN_JOB_NONE.
    async (host, uuid) => jobInfoOf(await hostJobStats(host, uuid, { completed: false })),
  ),
};

function checkMax(value: number, name: string): void {
  if (value < 0 || value > DOMAIN_LIST_MAX) {
    throw new VirtError(
      ErrorCode.RPC,
      `${name} '${value}' must be between 0 and ${DOMAIN_LIST_MAX}`,
      { where: name },
    );
  }
}
