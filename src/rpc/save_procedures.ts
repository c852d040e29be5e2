/**
 * Save and restore procedures: `virDomainSave(Flags)`, `virDomainRestore(Flags)` and the XML of
 * a save image (`virDomainSaveImageGetXMLDesc`, `virDomainSaveImageDefineXML`), with libvirt's
 * flags (`VIR_DOMAIN_SAVE_BYPASS_CACHE` 1, `_RUNNING` 2, `_PAUSED` 4; `_RESET_NVRAM` 8 is not
 * accepted: evirt keeps no NVRAM).
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import { defineSaveImage, requireManagedSave, saveImageXml } from "../../actors/save_images.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  checkFlags,
  definitionFromXml,
  type DomainArgs,
  domainFlagsArgs,
  lookupWire,
} from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, nonnullString, optionalString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_DOMAIN_SAVE_BYPASS_CACHE`. */
const SAVE_BYPASS_CACHE = 1;
/** `VIR_DOMAIN_SAVE_RUNNING`. */
const SAVE_RUNNING = 2;
/** `VIR_DOMAIN_SAVE_PAUSED`. */
const SAVE_PAUSED = 4;
/** The save flags evirt takes. */
const SAVE_FLAGS_ALL = SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED;
/** `VIR_DOMAIN_SAVE_IMAGE_XML_SECURE`. */
const IMAGE_XML_SECURE = 1;

function saveFlags(flags: number): { running: boolean; paused: boolean; bypassCache: boolean } {
  return {
    running: (flags & SAVE_RUNNING) !== 0,
    paused: (flags & SAVE_PAUSED) !== 0,
    bypassCache: (flags & SAVE_BYPASS_CACHE) !== 0,
  };
}

interface SaveCall {
  dom: WireDomain;
  to: string;
  dxml?: string | null;
  flags?: number;
}

interface RestoreCall {
  from: string;
  dxml?: string | null;
  flags?: number;
}

/** The save and restore procedures. */
export const SAVE_PROCEDURES: ProcedureTable = {
  virDomainManagedSave: {
    proc: 182,
    readOnly: false,
    args: domainFlagsArgs,
    ret: x.void,
    handler: async (call: DomainArgs, context) => {
      const flags = call.flags ?? 0;
      checkFlags(flags, SAVE_FLAGS_ALL, "virDomainManagedSave");
      const { host } = context.target();
      await host.command("managedsave", lookupWire(host, call.dom).uuid, saveFlags(flags));
    },
  },
  virDomainHasManagedSaveImage: {
    proc: 183,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["result", x.int]),
    handler: (call: DomainArgs, context) => {
      checkFlags(call.flags ?? 0, 0, "virDomainHasManagedSaveImage");
      const { host } = context.target();
      const path = host.context(lookupWire(host, call.dom).uuid).managedSave;
      return { result: path === null || path === undefined ? 0 : 1 };
    },
  },
  virDomainManagedSaveRemove: {
    proc: 184,
    readOnly: false,
    args: domainFlagsArgs,
    ret: x.void,
    handler: async (call: DomainArgs, context) => {
      checkFlags(call.flags ?? 0, 0, "virDomainManagedSaveRemove");
      const { host } = context.target();
      await host.command("managedsave_remove", lookupWire(host, call.dom).uuid, {});
    },
  },
  virDomainManagedSaveGetXMLDesc: {
    proc: 388,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["xml", nonnullString]),
    handler: async (call: DomainArgs, context) => {
      const flags = call.flags ?? 0;
      checkFlags(flags, IMAGE_XML_SECURE, "virDomainManagedSaveGetXMLDesc");
      const secure = (flags & IMAGE_XML_SECURE) !== 0;
      if (context.readOnly && secure) {
        throw new VirtError(
          ErrorCode.OPERATION_DENIED,
          "virDomainManagedSaveGetXMLDesc with secure flag",
        );
      }
      const { host } = context.target();
      const path = requireManagedSave(
        host.context(lookupWire(host, call.dom).uuid).managedSave,
        host.imagelessManagedSave("virDomainManagedSaveGetXMLDesc"),
      );
      return { xml: await saveImageXml(path, secure, host.ownSaveImageReader()) };
    },
  },
  virDomainManagedSaveDefineXML: {
    proc: 389,
    readOnly: false,
    args: x.struct(["dom", domainType], ["dxml", optionalString], ["flags", x.uint]),
    ret: x.void,
    handler: async (call: { dom: WireDomain; dxml: string | null; flags: number }, context) => {
      checkFlags(call.flags, SAVE_RUNNING | SAVE_PAUSED, "virDomainManagedSaveDefineXML");
      const target = context.target();
      const path = requireManagedSave(
        target.host.context(lookupWire(target.host, call.dom).uuid).managedSave,
        target.host.imagelessManagedSave("virDomainManagedSaveDefineXML"),
      );
      if (call.dxml === null) {
        throw new VirtError(ErrorCode.INVALID_ARG, "dxml must not be NULL");
      }
      const definition = definitionFromXml(call.dxml, target.xmlMaxBytes, false);
      await defineSaveImage(
        path,
        definition,
        saveFlags(call.flags),
        target.host.ownSaveImageReader(),
      );
    },
  },
  virDomainSave: {
    proc: 55,
    readOnly: false,
    args: x.struct(["dom", domainType], ["to", nonnullString]),
    ret: x.void,
    handler: (call: SaveCall, context) => save(context.target(), call, "virDomainSave"),
  },
  virDomainSaveFlags: {
    proc: 232,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["to", nonnullString],
      ["dxml", optionalString],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: (call: SaveCall, context) => save(context.target(), call, "virDomainSaveFlags"),
  },
  virDomainRestore: {
    proc: 54,
    readOnly: false,
    args: x.struct(["from", nonnullString]),
    ret: x.void,
    handler: (call: RestoreCall, context) => restore(context.target(), call, "virDomainRestore"),
  },
  virDomainRestoreFlags: {
    proc: 233,
    readOnly: false,
    args: x.struct(["from", nonnullString], ["dxml", optionalString], ["flags", x.uint]),
    ret: x.void,
    handler: (call: RestoreCall, context) =>
      restore(context.target(), call, "virDomainRestoreFlags"),
  },
  virDomainSaveImageGetXMLDesc: {
    proc: 235,
    readOnly: true,
    args: x.struct(["file", nonnullString], ["flags", x.uint]),
    ret: x.struct(["xml", nonnullString]),
    handler: async (call: { file: string; flags: number }, context) => {
      checkFlags(call.flags, IMAGE_XML_SECURE, "virDomainSaveImageGetXMLDesc");
      const secure = (call.flags & IMAGE_XML_SECURE) !== 0;
      if (context.readOnly && secure) {
        throw new VirtError(
          ErrorCode.OPERATION_DENIED,
          "virDomainSaveImageGetXMLDesc with secure flag",
        );
      }
      return {
        xml: await saveImageXml(call.file, secure, context.target().host.ownSaveImageReader()),
      };
    },
  },
  virDomainSaveImageDefineXML: {
    proc: 236,
    readOnly: false,
    args: x.struct(["file", nonnullString], ["dxml", nonnullString], ["flags", x.uint]),
    ret: x.void,
    handler: async (call: { file: string; dxml: string; flags: number }, context) => {
      checkFlags(call.flags, SAVE_RUNNING | SAVE_PAUSED, "virDomainSaveImageDefineXML");
      const target = context.target();
      const definition = definitionFromXml(call.dxml, target.xmlMaxBytes, false);
      await defineSaveImage(
        call.file,
        definition,
        saveFlags(call.flags),
        target.host.ownSaveImageReader(),
      );
    },
  },
};

async function save(
  target: { host: Host; xmlMaxBytes: number },
  call: SaveCall,
  api: string,
): Promise<void> {
  const flags = call.flags ?? 0;
  checkFlags(flags, SAVE_FLAGS_ALL, api);
  const { host } = target;
  const uuid = lookupWire(host, call.dom).uuid;
  const definition = call.dxml === undefined || call.dxml === null
    ? undefined
    : definitionFromXml(call.dxml, target.xmlMaxBytes, false);
  await host.command("save", uuid, {
    path: call.to,
    api,
    ...saveFlags(flags),
    ...(definition === undefined ? {} : { definition }),
  });
}

async function restore(
  target: { host: Host; xmlMaxBytes: number },
  call: RestoreCall,
  api: string,
): Promise<void> {
  const flags = call.flags ?? 0;
  checkFlags(flags, SAVE_FLAGS_ALL, api);
  const definition = call.dxml === undefined || call.dxml === null
    ? undefined
    : definitionFromXml(call.dxml, target.xmlMaxBytes, false);
  await target.host.restore(call.from, {
    ...saveFlags(flags),
    ...(definition === undefined ? {} : { definition }),
  });
}
