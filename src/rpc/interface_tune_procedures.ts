/**
 * `virsh domiftune` over libvirt's protocol: `virDomainGetInterfaceParameters` (257) answers
 * the count when asked for none (after the scope check, before the interface is looked up, as
 * libvirt), else the seven parameters as unsigned ints; `virDomainSetInterfaceParameters`
 * (256) changes them (actors/interface_tune_commands.ts).
 *
 * @module
 */

import { interfaceParametersOf } from "../../actors/interface_tune_commands.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { INTERFACE_PARAMETERS_MAX } from "../model/interface_tune.ts";
import { lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  domainType,
  nonnullString,
  TypedParam,
  typedParamType,
  type WireDomain,
  type WireTypedParam,
} from "./protocol.ts";
import { x } from "./xdr.ts";

/** The interface tuning procedures. */
export const INTERFACE_TUNE_PROCEDURES: ProcedureTable = {
  virDomainGetInterfaceParameters: {
    proc: 257,
    readOnly: true,
    args: x.struct(["dom", domainType], ["device", nonnullString], ["nparams", x.int], [
      "flags",
      x.uint,
    ]),
    ret: x.struct(["params", x.array(typedParamType, INTERFACE_PARAMETERS_MAX)], [
      "nparams",
      x.int,
    ]),
    handler: (
      args: { dom: WireDomain; device: string; nparams: number; flags: number },
      context,
    ) => {
      const { host } = context.target();
      if (args.nparams < 0 || args.nparams > INTERFACE_PARAMETERS_MAX) {
        throw new VirtError(ErrorCode.RPC, "nparams too large", { where: "nparams" });
      }
      const { uuid } = lookupWire(host, args.dom);
      const inspection = host.inspect(uuid);
      if (args.nparams === 0) {
        const count = interfaceParametersOf(inspection, undefined, args.flags).length;
        return { params: [], nparams: count };
      }
      const parameters = interfaceParametersOf(inspection, args.device, args.flags)
        .slice(0, args.nparams);
      return {
        params: parameters.map(({ name, value }) => ({
          field: name,
          value: { type: TypedParam.UINT, value },
        })),
        nparams: parameters.length,
      };
    },
  },
  virDomainSetInterfaceParameters: {
    proc: 256,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["device", nonnullString],
      ["params", x.array(typedParamType, INTERFACE_PARAMETERS_MAX)],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; device: string; params: WireTypedParam[]; flags: number },
      context,
    ) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const settings = args.params.map((param) => {
        if (param.value.type !== TypedParam.UINT) {
          throw new VirtError(
            ErrorCode.INVALID_ARG,
            `invalid type for parameter '${param.field}'`,
            { where: param.field },
          );
        }
        return { name: param.field, value: Number(param.value.value) };
      });
      await host.command("iftune", uuid, { device: args.device, settings, flags: args.flags });
    },
  },
};
