/**
 * `virConnectDomainXMLFromNative` (135) and `virConnectDomainXMLToNative` (136): a
 * hypervisor's native configuration to domain XML and back, through the table of native
 * formats.
 *
 * @module
 */

import {
  domainXmlFromNative,
  domainXmlToNative,
  nativeFormatHost,
} from "../../actors/native_conversion.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { RpcTarget } from "./rpc_target.ts";
import type { ProcedureTable } from "./procedure.ts";
import { nonnullString } from "./protocol.ts";
import { x } from "./xdr.ts";

/** libvirt's test driver converts nothing: on `test:///default` both calls answer code 3. */
function refuseOnTestDriver(target: RpcTarget, api: string): void {
  if (target.hypervisorType === "Test") {
    throw new VirtError(ErrorCode.NO_SUPPORT, api, { where: "uri" });
  }
}

/** The native configuration procedures. */
export const NATIVE_PROCEDURES: ProcedureTable = {
  virConnectDomainXMLFromNative: {
    proc: 135,
    readOnly: false,
    args: x.struct(["nativeFormat", nonnullString], ["nativeConfig", nonnullString], [
      "flags",
      x.uint,
    ]),
    ret: x.struct(["domainXml", nonnullString]),
    handler: (args: { nativeFormat: string; nativeConfig: string; flags: number }, context) => {
      checkFlags(args.flags, 0, "virConnectDomainXMLFromNative");
      refuseOnTestDriver(context.target(), "virConnectDomainXMLFromNative");
      const domainXml = domainXmlFromNative(
        args.nativeFormat,
        args.nativeConfig,
        context.target().xmlMaxBytes,
      );
      return { domainXml };
    },
  },
  virConnectDomainXMLToNative: {
    proc: 136,
    readOnly: false,
    args: x.struct(["nativeFormat", nonnullString], ["domainXml", nonnullString], [
      "flags",
      x.uint,
    ]),
    ret: x.struct(["nativeConfig", nonnullString]),
    handler: async (
      args: { nativeFormat: string; domainXml: string; flags: number },
      context,
    ) => {
      checkFlags(args.flags, 0, "virConnectDomainXMLToNative");
      const target = context.target();
      refuseOnTestDriver(target, "virConnectDomainXMLToNative");
      const nativeConfig = await domainXmlToNative(
        args.nativeFormat,
        args.domainXml,
        target.xmlMaxBytes,
        nativeFormatHost(target.host.drivers, target.networks),
      );
      return { nativeConfig };
    },
  },
};
