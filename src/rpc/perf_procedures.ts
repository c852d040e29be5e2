/**
 * A domain's perf events as `virsh perf` reads them (`virDomainGetPerfEvents`): every event libvirt
 * knows, enabled or not, of the live definition or the persistent one (`--live`, `--config`).
 *
 * evirt's QEMU driver counts no perf events (it refuses a definition that enables one), so a
 * running domain has none enabled, as libvirt's answer for a domain whose events are off.
 * Test domains answer from their definition, as libvirt's test driver does.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { PERF_EVENT_NAMES } from "../model/perf_events.ts";
import { affected } from "./domain_query_procedures.ts";
import { checkFlags, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, TypedParam, typedParamType, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `REMOTE_DOMAIN_PERF_EVENTS_MAX`. */
const PERF_EVENTS_MAX = 64;
/** `VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG | VIR_TYPED_PARAM_STRING_OKAY`. */
const PERF_FLAGS = 1 | 2 | 4;

/** The perf procedures. */
export const PERF_PROCEDURES: ProcedureTable = {
  virDomainGetPerfEvents: {
    proc: 365,
    readOnly: true,
    args: x.struct(["dom", domainType], ["flags", x.uint]),
    ret: x.struct(["params", x.array(typedParamType, PERF_EVENTS_MAX)]),
    handler: (args: { dom: WireDomain; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const test = host.inspect(uuid).driver?.name === "test";
      checkFlags(
        args.flags,
        PERF_FLAGS,
        test ? "testDomainGetPerfEvents" : "qemuDomainGetPerfEvents",
      );
      // libvirt's virDomainObjGetOneDefState words this check its own way (without a prefix).
      if ((args.flags & 3) === 3) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
          { where: "flags", bare: true },
        );
      }
      const definition = affected(host, uuid, args.flags & 3);
      const enabled = new Set(
        (definition.perf ?? []).filter((event) => event.enabled === "yes").map((event) =>
          event.name
        ),
      );
      return {
        params: PERF_EVENT_NAMES.map((name) => ({
          field: name,
          value: { type: TypedParam.BOOLEAN, value: enabled.has(name) ? 1 : 0 },
        })),
      };
    },
  },
};
