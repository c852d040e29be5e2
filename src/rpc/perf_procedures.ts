/**
 * A domain's perf events as `virsh perf` reads and switches them: `virDomainGetPerfEvents`
 * (365) answers every event libvirt knows, enabled or not, of the live definition or the
 * persistent one (`--live`, `--config`); `virDomainSetPerfEvents` (366) switches events on the
 * running instance (the QEMU driver opens the host's counters, actors/perf_commands.ts) and/or in
 * the persistent definition. Test domains answer from their definition, as libvirt's test
 * driver does.
 *
 * @module
 */

import { perfEventsOf } from "../../actors/perf_commands.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  domainType,
  TypedParam,
  typedParamType,
  type WireDomain,
  type WireTypedParam,
} from "./protocol.ts";
import { x } from "./xdr.ts";

/** `REMOTE_DOMAIN_PERF_EVENTS_MAX`. */
const PERF_EVENTS_MAX = 64;

/** libvirt's names of the typed parameter types, by number. */
export const TYPE_NAMES: Record<number, string> = {
  [TypedParam.INT]: "int",
  [TypedParam.UINT]: "uint",
  [TypedParam.LLONG]: "llong",
  [TypedParam.ULLONG]: "ullong",
  [TypedParam.DOUBLE]: "double",
  [TypedParam.BOOLEAN]: "boolean",
  [TypedParam.STRING]: "string",
};

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
      return {
        params: perfEventsOf(host.inspect(uuid), args.flags).map(({ name, enabled }) => ({
          field: name,
          value: { type: TypedParam.BOOLEAN, value: enabled ? 1 : 0 },
        })),
      };
    },
  },
  virDomainSetPerfEvents: {
    proc: 366,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["params", x.array(typedParamType, PERF_EVENTS_MAX)],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; params: WireTypedParam[]; flags: number },
      context,
    ) => {
      const { host } = context.target();
      if (args.params.length === 0) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          "nparams in virDomainSetPerfEvents must be greater than zero",
          { where: "params" },
        );
      }
      const { uuid } = lookupWire(host, args.dom);
      const settings = args.params.map((param) => ({
        name: param.field,
        enabled: param.value.value !== 0,
        type: TYPE_NAMES[param.value.type] ?? String(param.value.type),
      }));
      await host.command("perf", uuid, { settings, flags: args.flags });
    },
  },
};
