/**
 * `virsh migrate --p2p` over libvirt's protocol: with the peer-to-peer, V3 and parameters
 * features (`connect_procedures.ts`), `virDomainMigrateToURI3` calls
 * `virDomainMigratePerform3Params` on the source alone, which carries the whole migration out
 * (libvirt's source daemon talks to the destination's itself). Here the destination URI's host
 * part names a host of the source's fleet (`qemu+ssh://west/system`, `evirt://west/system`),
 * and the move is the fleet's: live (`--live`, the default for a running domain) or `--offline`.
 *
 * As a fleet has one owner per domain, the definition always moves with the guest (libvirt's
 * `--persistent --undefinesource`).
 *
 * Without `--p2p` (virsh's default) the client drives the V3 protocol with parameters itself,
 * over a connection to each host: Begin3 (source), Prepare3 (destination), Perform3 (source),
 * Finish3 (destination), Confirm3 (source); `MigrationSteps` (`src/service/migration_steps.ts`)
 * maps them onto the fleet's migration. Confirm is answered by the host the client called even
 * though the destination owns the domain by then (`local`).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { fleetHostOf } from "../model/fleet_host_uri.ts";
import { checkFlags, lookupWire, wireDomain } from "./domain_lookup.ts";
import type { DomainSummary } from "../model/domain_list.ts";
import type { MigrationTuning } from "../../actors/driver_protocol.ts";
import type { RpcTarget } from "./rpc_target.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  domainType,
  nonnullString,
  optionalString,
  typedParamType,
  type WireDomain,
  type WireTypedParam,
} from "./protocol.ts";
import { x } from "./xdr.ts";

/** `REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX`, `REMOTE_MIGRATE_COOKIE_MAX`. */
const PARAM_LIST_MAX = 64;
const COOKIE_MAX = 4_194_304;

/** `VIR_MIGRATE_*` flags a fleet's move honours or implies. */
const MigrateFlag = {
  LIVE: 1,
  PEER2PEER: 2,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  /** Added by libvirt's client when the source is paused. */
  PAUSED: 32,
  OFFLINE: 1024,
  ABORT_ON_ERROR: 4096,
} as const;

const FLAGS_KNOWN = Object.values(MigrateFlag).reduce((all, flag) => all | flag, 0);

/** `VIR_MIGRATE_PARAM_*`: the bandwidth (MiB/s), taken between fleet hosts. */
const PARAM_BANDWIDTH = "bandwidth";
/** The parameters libvirt's client itself passes between the V3 steps. */
const PARAM_URI = "migrate_uri";
const PARAM_DEST_NAME = "destination_name";
const PARAM_DEST_XML = "destination_xml";

/** The steps of the client-driven V3 migration on a host of a fleet (`migration_steps.ts`). */
export interface ClientMigrationSteps {
  begin(reference: string): Promise<{ xml: string; cookie: Uint8Array }>;
  prepare(
    cookie: Uint8Array,
    xml: string | null,
    ended: AbortSignal | undefined,
  ): Promise<{ cookie: Uint8Array; uri: string }>;
  perform(
    reference: string,
    cookie: Uint8Array,
    tuning: MigrationTuning,
    ended: AbortSignal | undefined,
  ): Promise<Uint8Array>;
  finish(cookie: Uint8Array, name: string | null, cancelled: boolean): Promise<DomainSummary>;
  confirm(reference: string, cancelled: boolean): Promise<void>;
}

/**
 * The client-driven steps of `target`'s fleet.
 *
 * @throws {VirtError} 3 (naming `api`) outside a fleet.
 */
function stepsOf(target: RpcTarget, api: string): ClientMigrationSteps {
  const steps = target.fleet?.steps;
  if (steps === undefined) throw new VirtError(ErrorCode.NO_SUPPORT, api);
  return steps;
}

/**
 * The string and number parameters of a V3 step, by name.
 *
 * @throws {VirtError} 74 for a parameter outside `allowed` (naming it).
 */
function paramsOf(
  params: WireTypedParam[],
  allowed: readonly string[],
): Map<string, string | number> {
  const found = new Map<string, string | number>();
  for (const param of params) {
    if (!allowed.includes(param.field)) {
      throw new VirtError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        `migration parameter '${param.field}' is not supported between fleet hosts`,
        { where: param.field },
      );
    }
    const value = param.value.value;
    found.set(param.field, typeof value === "string" ? value : Number(value));
  }
  return found;
}

/** The bandwidth parameter as a migration's tuning (0: none given). */
function tuningOf(found: Map<string, string | number>): MigrationTuning {
  const bandwidth = Number(found.get(PARAM_BANDWIDTH) ?? 0);
  return bandwidth === 0 ? {} : { bandwidthMiB: bandwidth };
}

/** Every parameter libvirt's client passes along the V3 steps. */
const STEP_PARAMS = [PARAM_BANDWIDTH, PARAM_URI, PARAM_DEST_NAME, PARAM_DEST_XML] as const;

const V3_FLAGS = FLAGS_KNOWN & ~MigrateFlag.PEER2PEER & ~MigrateFlag.OFFLINE;

const paramsType = x.array(typedParamType, PARAM_LIST_MAX);
const cookieType = x.opaque(COOKIE_MAX);

/** The migration procedures. */
export const MIGRATION_PROCEDURES: ProcedureTable = {
  virDomainMigratePerform3Params: {
    proc: 305,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["dconnuri", optionalString],
      ["params", x.array(typedParamType, PARAM_LIST_MAX)],
      ["cookie_in", x.opaque(COOKIE_MAX)],
      ["flags", x.uint],
    ),
    ret: x.struct(["cookie_out", x.opaque(COOKIE_MAX)]),
    handler: async (
      args: {
        dom: WireDomain;
        dconnuri: string | null;
        params: WireTypedParam[];
        cookie_in: Uint8Array;
        flags: number;
      },
      context,
    ) => {
      const target = context.target();
      const { uuid } = lookupWire(target.host, args.dom);
      checkFlags(args.flags, FLAGS_KNOWN, "virDomainMigratePerform3Params");
      if ((args.flags & MigrateFlag.PEER2PEER) === 0) {
        // Client-driven: Prepare ran on the destination; its cookie names it.
        checkFlags(args.flags, V3_FLAGS, "virDomainMigratePerform3Params");
        const found = paramsOf(args.params, STEP_PARAMS);
        const cookie_out = await stepsOf(target, "virDomainMigratePerform3Params").perform(
          uuid,
          args.cookie_in,
          tuningOf(found),
          context.ended,
        );
        return { cookie_out };
      }
      if (args.dconnuri === null) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          "virDomainMigratePerform3Params: a peer-to-peer migration needs the destination URI",
          { where: "dconnuri" },
        );
      }
      const fleet = target.fleet;
      if (fleet?.moveLive === undefined || fleet.moveOffline === undefined) {
        throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainMigratePerform3Params");
      }
      const host = fleetHostOf(args.dconnuri);
      if (host === undefined) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          `destination URI '${args.dconnuri}' names no host of the fleet`,
          { where: "dconnuri" },
        );
      }
      let bandwidth: number | undefined;
      for (const param of args.params) {
        if (param.field !== PARAM_BANDWIDTH) {
          throw new VirtError(
            ErrorCode.ARGUMENT_UNSUPPORTED,
            `migration parameter '${param.field}' is not supported between fleet hosts`,
            { where: param.field },
          );
        }
        bandwidth = Number(param.value.value);
      }
      if ((args.flags & MigrateFlag.OFFLINE) !== 0) {
        if ((args.flags & MigrateFlag.LIVE) !== 0) {
          throw new VirtError(
            ErrorCode.INVALID_ARG,
            "Flags 'VIR_MIGRATE_LIVE' and 'VIR_MIGRATE_OFFLINE' are mutually exclusive",
          );
        }
        await fleet.moveOffline(uuid, host);
      } else {
        await fleet.moveLive(uuid, host, {
          ...(bandwidth === undefined || bandwidth === 0 ? {} : { bandwidthMiB: bandwidth }),
        });
      }
      return { cookie_out: new Uint8Array() };
    },
  },
  virDomainMigrateBegin3Params: {
    proc: 302,
    readOnly: false,
    args: x.struct(["dom", domainType], ["params", paramsType], ["flags", x.uint]),
    ret: x.struct(["cookie_out", cookieType], ["xml", nonnullString]),
    handler: async (
      args: { dom: WireDomain; params: WireTypedParam[]; flags: number },
      context,
    ) => {
      const target = context.target();
      const summary = lookupWire(target.host, args.dom);
      if ((args.flags & MigrateFlag.OFFLINE) !== 0) {
        throw new VirtError(
          ErrorCode.ARGUMENT_UNSUPPORTED,
          "offline migration between fleet hosts is peer-to-peer: use --p2p",
        );
      }
      checkFlags(args.flags, V3_FLAGS, "virDomainMigrateBegin3Params");
      const found = paramsOf(args.params, [PARAM_BANDWIDTH, PARAM_URI, PARAM_DEST_NAME]);
      const name = found.get(PARAM_DEST_NAME);
      if (name !== undefined && name !== summary.name) {
        throw new VirtError(
          ErrorCode.ARGUMENT_UNSUPPORTED,
          "a domain keeps its name between fleet hosts",
          { where: PARAM_DEST_NAME },
        );
      }
      const begun = await stepsOf(target, "virDomainMigrateBegin3Params").begin(summary.uuid);
      return { cookie_out: begun.cookie, xml: begun.xml };
    },
  },
  virDomainMigratePrepare3Params: {
    proc: 303,
    readOnly: false,
    args: x.struct(["params", paramsType], ["cookie_in", cookieType], ["flags", x.uint]),
    ret: x.struct(["cookie_out", cookieType], ["uri_out", optionalString]),
    handler: async (
      args: { params: WireTypedParam[]; cookie_in: Uint8Array; flags: number },
      context,
    ) => {
      checkFlags(args.flags, V3_FLAGS, "virDomainMigratePrepare3Params");
      if ((args.flags & MigrateFlag.PAUSED) !== 0) {
        // libvirt's client adds it for a paused source; the destination runs what it receives.
        throw new VirtError(
          ErrorCode.ARGUMENT_UNSUPPORTED,
          "a paused domain is not migrated between fleet hosts: resume it first",
        );
      }
      const found = paramsOf(args.params, STEP_PARAMS);
      if (found.has(PARAM_URI)) {
        throw new VirtError(
          ErrorCode.ARGUMENT_UNSUPPORTED,
          "the destination host chooses the migration URI between fleet hosts",
          { where: PARAM_URI },
        );
      }
      const xml = found.get(PARAM_DEST_XML);
      const prepared = await stepsOf(context.target(), "virDomainMigratePrepare3Params").prepare(
        args.cookie_in,
        typeof xml === "string" ? xml : null,
        context.ended,
      );
      return { cookie_out: prepared.cookie, uri_out: prepared.uri };
    },
  },
  virDomainMigrateFinish3Params: {
    proc: 306,
    readOnly: false,
    args: x.struct(
      ["params", paramsType],
      ["cookie_in", cookieType],
      ["flags", x.uint],
      ["cancelled", x.int],
    ),
    ret: x.struct(["dom", domainType], ["cookie_out", cookieType]),
    handler: async (
      args: { params: WireTypedParam[]; cookie_in: Uint8Array; flags: number; cancelled: number },
      context,
    ) => {
      checkFlags(args.flags, V3_FLAGS, "virDomainMigrateFinish3Params");
      const found = paramsOf(args.params, STEP_PARAMS);
      const name = found.get(PARAM_DEST_NAME);
      const summary = await stepsOf(context.target(), "virDomainMigrateFinish3Params").finish(
        args.cookie_in,
        typeof name === "string" ? name : null,
        args.cancelled !== 0,
      );
      return { dom: wireDomain(summary), cookie_out: new Uint8Array() };
    },
  },
  virDomainMigrateConfirm3Params: {
    proc: 307,
    readOnly: false,
    local: true,
    args: x.struct(
      ["dom", domainType],
      ["params", paramsType],
      ["cookie_in", cookieType],
      ["flags", x.uint],
      ["cancelled", x.int],
    ),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; params: WireTypedParam[]; flags: number; cancelled: number },
      context,
    ) => {
      const target = context.target();
      const { uuid } = lookupWire(target.host, args.dom);
      checkFlags(args.flags, V3_FLAGS, "virDomainMigrateConfirm3Params");
      paramsOf(args.params, STEP_PARAMS);
      await stepsOf(target, "virDomainMigrateConfirm3Params").confirm(uuid, args.cancelled !== 0);
    },
  },
};
