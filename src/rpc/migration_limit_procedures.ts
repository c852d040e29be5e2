/**
 * A running domain's migration limits over libvirt's protocol (`migrate-setspeed`,
 * `migrate-getspeed`, `migrate-setmaxdowntime`, `migrate-getmaxdowntime`). The migration's
 * figures and cancel are the domain's job: `virDomainGetJobInfo`/`Stats`, `virDomainAbortJob`
 * (`domain_procedures.ts`, `domain_query_procedures.ts`).
 *
 * @module
 */

import { migrationLimits, setMigrationLimits } from "../../actors/migration_limits.ts";
import { UNLIMITED_BANDWIDTH_MIB } from "../../actors/driver_protocol.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { checkFlags, domainFlagsArgs, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** Longest a limit's change or read may take on the monitor, in ms. */
const MONITOR_TIMEOUT_MS = 30_000;

/** The migration limit procedures. */
export const MIGRATION_LIMIT_PROCEDURES: ProcedureTable = {
  virDomainMigrateSetMaxDowntime: {
    proc: 166,
    readOnly: false,
    args: x.struct(["dom", domainType], ["downtime", x.uhyper], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { dom: WireDomain; downtime: bigint; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, 0, "virDomainMigrateSetMaxDowntime");
      if (args.downtime < 1n || args.downtime > BigInt(2 ** 31 - 1)) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          `migration downtime must be from 1 to ${2 ** 31 - 1} ms`,
          { where: "downtime" },
        );
      }
      await setMigrationLimits(
        host,
        uuid,
        { maxDowntimeMs: Number(args.downtime) },
        AbortSignal.timeout(MONITOR_TIMEOUT_MS),
      );
    },
  },
  virDomainMigrateSetMaxSpeed: {
    proc: 207,
    readOnly: false,
    args: x.struct(["dom", domainType], ["bandwidth", x.uhyper], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { dom: WireDomain; bandwidth: bigint; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, 0, "virDomainMigrateSetMaxSpeed");
      if (args.bandwidth > BigInt(UNLIMITED_BANDWIDTH_MIB)) {
        throw new VirtError(
          ErrorCode.OVERFLOW,
          `bandwidth must be less than ${UNLIMITED_BANDWIDTH_MIB + 1}`,
          { where: "bandwidth" },
        );
      }
      await setMigrationLimits(
        host,
        uuid,
        { bandwidthMiB: Number(args.bandwidth) },
        AbortSignal.timeout(MONITOR_TIMEOUT_MS),
      );
    },
  },
  virDomainMigrateGetMaxSpeed: {
    proc: 242,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["bandwidth", x.uhyper]),
    handler: async (args: { dom: WireDomain; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, 0, "virDomainMigrateGetMaxSpeed");
      const limits = await migrationLimits(host, uuid, AbortSignal.timeout(MONITOR_TIMEOUT_MS));
      return { bandwidth: BigInt(limits.bandwidthMiB) };
    },
  },
  virDomainMigrateGetMaxDowntime: {
    proc: 387,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["downtime", x.uhyper]),
    handler: async (args: { dom: WireDomain; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, 0, "virDomainMigrateGetMaxDowntime");
      const limits = await migrationLimits(host, uuid, AbortSignal.timeout(MONITOR_TIMEOUT_MS));
      return { downtime: BigInt(limits.maxDowntimeMs) };
    },
  },
};
