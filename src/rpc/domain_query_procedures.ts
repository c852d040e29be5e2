/**
 * Domain queries virsh makes beside `dominfo`: job statistics (`domjobinfo`, also
 * `--completed`), emulator and I/O thread pinning (`emulatorpin`, `iothreadinfo`), and the
 * queries libvirt answers through the QEMU guest agent (`domtime`, `domhostname`, `domfsinfo`,
 * `guestinfo`). A domain's job is its outgoing live migration, save or restore
 * (`actors/domain_jobs.ts`); none: type none.
 *
 * @module
 */

import { abortHostJob, hostJobStats, jobTypeOf } from "../../actors/domain_jobs.ts";
import { jobParams } from "./domain_job_params.ts";
import {
  AGENT_TIMEOUT_SECONDS_DEFAULT,
  guestHostname,
  guestTime,
} from "../../actors/guest_commands.ts";
import type { Host } from "../../actors/host.ts";
import { affected } from "../../actors/affected_definition.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { agentChannelIndex } from "../model/guest_agent_channel.ts";
import { parseCpuSet } from "../model/cpu_set.ts";
import { checkFlags, domainFlagsArgs, domainRead, lookupWire } from "./domain_lookup.ts";
import type { Procedure, ProcedureTable } from "./procedure.ts";
import type { RpcTarget } from "./rpc_target.ts";
import { domainType, nonnullString, typedParamType, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_DOMAIN_AFFECT_LIVE`, `VIR_DOMAIN_AFFECT_CONFIG`. */
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
/** `VIR_DOMAIN_JOB_STATS_COMPLETED`, `VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED`. */
const JOB_STATS_COMPLETED = 1;
const JOB_STATS_KEEP_COMPLETED = 2;
/** `VIR_DOMAIN_ABORT_JOB_POSTCOPY`. */
const ABORT_JOB_POSTCOPY = 1;
/** `REMOTE_CPUMAP_MAX`, `REMOTE_CPUMAPS_MAX`, `REMOTE_IOTHREAD_INFO_MAX`. */
const CPUMAP_MAX = 2048;
const CPUMAPS_MAX = 8_388_608;
const IOTHREAD_INFO_MAX = 16_384;
/** The channel name of the QEMU guest agent. */

export { affected };

/** The host CPUs an affinity map covers. */
function mapCpus(target: RpcTarget): number {
  const node = target.nodeInfo();
  return Math.max(1, node.cpuMapCpus ?? node.cpus);
}

/** One affinity map of `maplen` bytes: the cpuset given, else every host CPU. */
function cpumap(cpuset: string | undefined, cpus: number, maplen: number): Uint8Array {
  const map = new Uint8Array(maplen);
  const ids = cpuset === undefined
    ? Array.from({ length: cpus }, (_, id) => id)
    : parseCpuSet(cpuset);
  for (const id of ids) if (id < maplen * 8) map[id >> 3] |= 1 << (id & 7);
  return map;
}

/** The I/O thread ids of a definition: `<iothreadids>` first, then numbered up to the count. */
function iothreadIds(definition: DomainDefinition): number[] {
  const listed = (definition.extra?.elements ?? [])
    .map((placed) => placed.element)
    .find((element) => element.name === "iothreadids");
  const ids: number[] = [];
  for (const child of listed?.children ?? []) {
    if (typeof child === "string" || child.name !== "iothread") continue;
    const id = Number(child.attributes?.id);
    if (Number.isSafeInteger(id) && id > 0 && !ids.includes(id)) ids.push(id);
  }
  let next = Math.max(0, ...ids) + 1;
  while (ids.length < (definition.iothreads ?? 0)) ids.push(next++);
  return ids;
}

/** How long a typed agent query (`domtime`, `domhostname`) may take on the wire, in ms. */
const AGENT_QUERY_TIMEOUT_MS = (AGENT_TIMEOUT_SECONDS_DEFAULT + 1) * 1000;

/**
 * Refuses a query only the guest agent answers that evirt does not put to one (`domfsinfo`,
 * `guestinfo`), with libvirt's answers where it has them: not running (55), no agent channel
 * (74); with a channel, code 3.
 */
function refuseAgentQuery(host: Host, uuid: string, api: string): never {
  const inspection = host.inspect(uuid);
  if (!inspection.summary.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if (agentChannelIndex(inspection.definition) === -1) {
    throw new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured");
  }
  throw new VirtError(ErrorCode.NO_SUPPORT, api);
}

/** A call that may talk to the guest agent: read-write connections only, as libvirt's policy. */
function agentQueryProcedure(procedure: Procedure): Procedure {
  return { ...procedure, readOnly: false };
}

/** The domain query procedures. */
export const DOMAIN_QUERY_PROCEDURES: ProcedureTable = {
  virDomainGetJobStats: domainRead(
    298,
    x.struct(["type", x.int], ["params", x.array(typedParamType, 64)]),
    async (host, uuid, args) => {
      const flags = args.flags ?? 0;
      checkFlags(flags, JOB_STATS_COMPLETED | JOB_STATS_KEEP_COMPLETED, "virDomainGetJobStats");
      const stats = await hostJobStats(host, uuid, {
        completed: (flags & JOB_STATS_COMPLETED) !== 0,
        keepCompleted: (flags & JOB_STATS_KEEP_COMPLETED) !== 0,
      });
      return { type: jobTypeOf(stats), params: stats === null ? [] : jobParams(stats) };
    },
    domainFlagsArgs,
  ),
  // A migration's or save's cancel (`domjobabort`): its own call then fails with code 78.
  virDomainAbortJob: {
    proc: 164,
    readOnly: false,
    args: x.struct(["dom", domainType]),
    ret: x.void,
    handler: async (args: { dom: WireDomain }, context) => {
      const { host } = context.target();
      await abortHostJob(host, lookupWire(host, args.dom).uuid);
    },
  },
  // `domjobabort --postcopy`: VIR_DOMAIN_ABORT_JOB_POSTCOPY (1).
  virDomainAbortJobFlags: {
    proc: 442,
    readOnly: false,
    args: domainFlagsArgs,
    ret: x.void,
    handler: async (args: { dom: WireDomain; flags: number }, context) => {
      checkFlags(args.flags, ABORT_JOB_POSTCOPY, "virDomainAbortJobFlags");
      const { host } = context.target();
      await abortHostJob(host, lookupWire(host, args.dom).uuid, {
        postcopy: (args.flags & ABORT_JOB_POSTCOPY) !== 0,
      });
    },
  },
  virDomainGetEmulatorPinInfo: {
    proc: 280,
    readOnly: true,
    args: x.struct(["dom", domainType], ["maplen", x.int], ["flags", x.uint]),
    ret: x.struct(["cpumaps", x.opaque(CPUMAPS_MAX)], ["ret", x.int]),
    handler: (args: { dom: WireDomain; maplen: number; flags: number }, context) => {
      const target = context.target();
      const { uuid } = lookupWire(target.host, args.dom);
      checkFlags(args.flags, AFFECT_LIVE | AFFECT_CONFIG, "virDomainGetEmulatorPinInfo");
      if (args.maplen <= 0 || args.maplen > CPUMAP_MAX) {
        throw new VirtError(ErrorCode.RPC, "maplen > REMOTE_CPUMAP_MAX", { where: "maplen" });
      }
      const definition = affected(target.host, uuid, args.flags);
      const cpuset = definition.cputune?.emulatorpin ?? definition.vcpu?.cpuset;
      return { cpumaps: cpumap(cpuset, mapCpus(target), args.maplen), ret: 1 };
    },
  },
  virDomainGetIOThreadInfo: {
    proc: 351,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(
      [
        "info",
        x.array(
          x.struct(["iothread_id", x.uint], ["cpumap", x.opaque(CPUMAP_MAX)]),
          IOTHREAD_INFO_MAX,
        ),
      ],
      ["ret", x.uint],
    ),
    handler: (args: { dom: WireDomain; flags: number }, context) => {
      const target = context.target();
      const { uuid } = lookupWire(target.host, args.dom);
      checkFlags(args.flags, AFFECT_LIVE | AFFECT_CONFIG, "virDomainGetIOThreadInfo");
      const definition = affected(target.host, uuid, args.flags);
      const cpus = mapCpus(target);
      const maplen = Math.ceil(cpus / 8);
      const info = iothreadIds(definition).slice(0, IOTHREAD_INFO_MAX).map((id) => {
        const pin = definition.cputune?.iothreadpins.find((entry) => entry.iothread === id);
        return {
          iothread_id: id,
          cpumap: cpumap(pin?.cpuset ?? definition.vcpu?.cpuset, cpus, maplen),
        };
      });
      return { info, ret: info.length };
    },
  },
  virDomainGetTime: agentQueryProcedure(domainRead(
    337,
    x.struct(["seconds", x.hyper], ["nseconds", x.uint]),
    (host, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virDomainGetTime");
      return guestTime(host.inspect(uuid), AbortSignal.timeout(AGENT_QUERY_TIMEOUT_MS));
    },
    domainFlagsArgs,
  )),
  virDomainGetHostname: agentQueryProcedure(domainRead(
    277,
    x.struct(["hostname", nonnullString]),
    async (host, uuid, args) => {
      // VIR_DOMAIN_GET_HOSTNAME_AGENT (2); the DHCP lease source (1) needs networks evirt lacks.
      checkFlags(args.flags ?? 0, 2, "virDomainGetHostname");
      const hostname = await guestHostname(
        host.inspect(uuid),
        AbortSignal.timeout(AGENT_QUERY_TIMEOUT_MS),
      );
      return { hostname };
    },
    domainFlagsArgs,
  )),
  virDomainGetFSInfo: agentQueryProcedure(domainRead(
    349,
    x.struct(
      [
        "info",
        x.array(
          x.struct(
            ["mountpoint", nonnullString],
            ["name", nonnullString],
            ["fstype", nonnullString],
            ["dev_aliases", x.array(nonnullString, 256)],
          ),
          256,
        ),
      ],
      ["ret", x.uint],
    ),
    (host, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virDomainGetFSInfo");
      refuseAgentQuery(host, uuid, "virDomainGetFSInfo");
    },
    domainFlagsArgs,
  )),
  virDomainGetGuestInfo: {
    proc: 418,
    // As every call that may talk to the guest agent: read-write connections only (libvirt).
    readOnly: false,
    args: x.struct(["dom", domainType], ["types", x.uint], ["flags", x.uint]),
    ret: x.struct(["params", x.array(typedParamType, 2048)]),
    handler: (args: { dom: WireDomain; types: number; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, 0, "virDomainGetGuestInfo");
      refuseAgentQuery(host, uuid, "virDomainGetGuestInfo");
    },
  },
};
