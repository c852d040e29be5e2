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
  driverCommandLines,
} from "../../actors/native_conversion.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { nonnullString } from "./protocol.ts";
import { x } from "./xdr.ts";

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
      const nativeConfig = await domainXmlToNative(
        args.nativeFormat,
        args.domainXml,
        target.xmlMaxBytes,
        driverCommandLines(target.host.drivers),
      );
      return { nativeConfig };
    },
  },
};
