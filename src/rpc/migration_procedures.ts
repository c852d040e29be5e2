/**
 * `virsh migrate --p2p` over libvirt's protocol: with the peer-to-peer, V3 and parameters
 * features (`connect_procedures.ts`), `virDomainMigrateToURI3` calls
 * `virDomainMigratePerform3Params` on the source alone, which carries the whole migration out
 * (libvirt's source daemon talks to the destination's itself). Here the destination URI's host
 * part names a host of the source's fleet (`qemu+ssh://west/system`, `evirt://west/system`),
 * and the move is the fleet's: live (`--live`, the default for a running domain) or `--offline`.
 *
 * As a fleet has one owner per domain, the definition always moves with the guest (libvirt's
 * `--persistent --undefinesource`). The non-peer-to-peer protocol (Begin3, Prepare3, Perform3,
 * Finish3, Confirm3 between two connections) is not served.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { fleetHostOf } from "../model/fleet_host_uri.ts";
import { checkFlags, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  domainType,
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
  OFFLINE: 1024,
  ABORT_ON_ERROR: 4096,
} as const;

const FLAGS_KNOWN = Object.values(MigrateFlag).reduce((all, flag) => all | flag, 0);

/** `VIR_MIGRATE_PARAM_BANDWIDTH`, the one parameter taken (MiB/s). */
const PARAM_BANDWIDTH = "bandwidth";

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
        flags: number;
      },
      context,
    ) => {
      const target = context.target();
      const { uuid } = lookupWire(target.host, args.dom);
      checkFlags(args.flags, FLAGS_KNOWN, "virDomainMigratePerform3Params");
      if ((args.flags & MigrateFlag.PEER2PEER) === 0 || args.dconnuri === null) {
        throw new VirtError(
          ErrorCode.NO_SUPPORT,
          "virDomainMigratePerform3Params: only peer-to-peer migration (--p2p) is served",
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
};
