/**
 * Domain queries virsh makes beside `dominfo`: job statistics (`domjobinfo`, also
 * `--completed`), emulator and I/O thread pinning (`emulatorpin`, `iothreadinfo`), and the
 * queries libvirt answers through the QEMU guest agent (`domtime`, `domhostname`, `domfsinfo`,
 * `guestinfo`). evirt runs no background jobs and speaks to no guest agent, so these answer as
 * libvirt does for a domain without either: no job (type none), and the agent refusals.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { parseCpuSet } from "../model/cpu_set.ts";
import { checkFlags, domainFlagsArgs, domainRead, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import type { RpcTarget } from "./rpc_target.ts";
import { domainType, nonnullString, typedParamType, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_DOMAIN_AFFECT_LIVE`, `VIR_DOMAIN_AFFECT_CONFIG`. */
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
/** `VIR_DOMAIN_JOB_STATS_COMPLETED`, `VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED`. */
const JOB_STATS_COMPLETED = 1;
const JOB_STATS_KEEP_COMPLETED = 2;
/** `VIR_DOMAIN_JOB_NONE`. */
const JOB_NONE = 0;
/** `REMOTE_CPUMAP_MAX`, `REMOTE_CPUMAPS_MAX`, `REMOTE_IOTHREAD_INFO_MAX`. */
const CPUMAP_MAX = 2048;
const CPUMAPS_MAX = 8_388_608;
const IOTHREAD_INFO_MAX = 16_384;
/** The channel name of the QEMU guest agent. */
const GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0";

/**
 * Which definition a `VIR_DOMAIN_AFFECT_*` read looks at, as libvirt decides: the live one when
 * asked or by default while active, else the persistent one.
 *
 * @throws {VirtError} INVALID_ARG (8) for both flags; OPERATION_INVALID (55) for a live read
 *   of an inactive domain.
 */
export function affected(host: Host, uuid: string, flags: number): DomainDefinition {
  if ((flags & AFFECT_LIVE) !== 0 && (flags & AFFECT_CONFIG) !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "flags 'affect live' and 'affect config' are mutually exclusive",
      { where: "flags" },
    );
  }
  const inspection = host.inspect(uuid);
  const active = inspection.summary.active;
  if ((flags & AFFECT_LIVE) !== 0 && !active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if ((flags & AFFECT_CONFIG) !== 0 && inspection.persistentDefinition === null) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "transient domains do not have any persistent config",
    );
  }
  const live = (flags & AFFECT_CONFIG) === 0 && active;
  return live ? inspection.definition : inspection.persistentDefinition ?? inspection.definition;
}

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

/**
 * Refuses a query only the guest agent answers, as libvirt does for a domain without one: not
 * running (55), no agent channel (74); evirt does not speak to an agent that is configured.
 */
function refuseAgentQuery(host: Host, uuid: string): never {
  const inspection = host.inspect(uuid);
  if (!inspection.summary.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  const hasAgent = inspection.definition.devices.channels.some((channel) =>
    channel.target?.type === "virtio" && channel.target.name === GUEST_AGENT_CHANNEL
  );
  if (!hasAgent) {
    throw new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured");
  }
  throw new VirtError(ErrorCode.NO_SUPPORT, "evirt does not speak to the QEMU guest agent");
}

/** The domain query procedures. */
export const DOMAIN_QUERY_PROCEDURES: ProcedureTable = {
  virDomainGetJobStats: domainRead(
    298,
    x.struct(["type", x.int], ["params", x.array(typedParamType, 64)]),
    (host, uuid, args) => {
      const flags = args.flags ?? 0;
      checkFlags(flags, JOB_STATS_COMPLETED | JOB_STATS_KEEP_COMPLETED, "virDomainGetJobStats");
      // No job ever completes (evirt has no migration, save or dump), so none is kept either.
      if ((flags & JOB_STATS_COMPLETED) === 0 && !host.lookup(uuid).active) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
      }
      return { type: JOB_NONE, params: [] };
    },
    domainFlagsArgs,
  ),
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
  virDomainGetTime: domainRead(
    337,
    x.struct(["seconds", x.hyper], ["nseconds", x.uint]),
    (host, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virDomainGetTime");
      refuseAgentQuery(host, uuid);
    },
    domainFlagsArgs,
  ),
  virDomainGetHostname: domainRead(
    277,
    x.struct(["hostname", nonnullString]),
    (host, uuid, args) => {
      // VIR_DOMAIN_GET_HOSTNAME_AGENT (2); the DHCP lease source (1) needs networks evirt lacks.
      checkFlags(args.flags ?? 0, 2, "virDomainGetHostname");
      refuseAgentQuery(host, uuid);
    },
    domainFlagsArgs,
  ),
  virDomainGetFSInfo: domainRead(
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
      refuseAgentQuery(host, uuid);
    },
    domainFlagsArgs,
  ),
  virDomainGetGuestInfo: {
    proc: 418,
    readOnly: true,
    args: x.struct(["dom", domainType], ["types", x.uint], ["flags", x.uint]),
    ret: x.struct(["params", x.array(typedParamType, 2048)]),
    handler: (args: { dom: WireDomain; types: number; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, 0, "virDomainGetGuestInfo");
      refuseAgentQuery(host, uuid);
    },
  },
};
