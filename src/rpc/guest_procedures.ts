/**
 * Procedures of the daily verbs: `virDomainSendKey` (226), `virDomainRename` (358) and
 * `virDomainScreenshot` (211), whose image follows the reply as a stream, as libvirtd sends it.
 *
 * @module
 */

import { screenshot, sendKey } from "../../actors/guest_commands.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { codesetOfNumber, SEND_KEY_MAX_KEYS } from "../model/keycodes.ts";
import { checkFlags, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable, StreamSource } from "./procedure.ts";
import { domainType, nonnullString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** How long a key press may take, in ms. */
const SEND_KEY_TIMEOUT_MS = 30_000;

/** How long a screenshot may take, in ms. */
const SCREENSHOT_TIMEOUT_MS = 30_000;

/** Bytes held in memory as a stream that ends after them. */
function bytesStream(data: Uint8Array): StreamSource {
  let sent = false;
  return {
    read() {
      if (sent) return Promise.resolve(null);
      sent = true;
      return Promise.resolve(data);
    },
    write() {
      return Promise.resolve();
    },
    close() {
      sent = true;
    },
  };
}

/** The procedures. */
export const GUEST_PROCEDURES: ProcedureTable = {
  virDomainSendKey: {
    proc: 226,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["codeset", x.uint],
      ["holdtime", x.uint],
      ["keycodes", x.array(x.uint, SEND_KEY_MAX_KEYS)],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: {
        dom: WireDomain;
        codeset: number;
        holdtime: number;
        keycodes: number[];
        flags: number;
      },
      context,
    ) => {
      checkFlags(args.flags, 0, "virDomainSendKey");
      const codeset = codesetOfNumber(args.codeset);
      if (codeset === undefined) {
        throw new VirtError(ErrorCode.INVALID_ARG, `Unsupported codeset '${args.codeset}'`);
      }
      const { host } = context.target();
      const inspection = host.inspect(lookupWire(host, args.dom).uuid);
      await sendKey(
        inspection,
        { codeset, codes: args.keycodes, holdTimeMs: args.holdtime },
        AbortSignal.timeout(SEND_KEY_TIMEOUT_MS),
      );
    },
  },
  virDomainScreenshot: {
    proc: 211,
    readOnly: false,
    args: x.struct(["dom", domainType], ["screen", x.uint], ["flags", x.uint]),
    ret: x.struct(["mime", x.optional(nonnullString)]),
    handler: async (args: { dom: WireDomain; screen: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "virDomainScreenshot");
      const { host } = context.target();
      const inspection = host.inspect(lookupWire(host, args.dom).uuid);
      const image = await screenshot(
        inspection,
        args.screen,
        AbortSignal.timeout(SCREENSHOT_TIMEOUT_MS),
      );
      context.startStream(bytesStream(image.data));
      return { mime: image.mime };
    },
  },
  virDomainRename: {
    proc: 358,
    readOnly: false,
    args: x.struct(["dom", domainType], ["new_name", x.optional(nonnullString)], ["flags", x.uint]),
    ret: x.struct(["retcode", x.int]),
    handler: async (
      args: { dom: WireDomain; new_name: string | null; flags: number },
      context,
    ) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      if (args.new_name === null || args.new_name === "") {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          "string new_name in virDomainRename must not be empty",
        );
      }
      checkFlags(args.flags, 0, "virDomainRename");
      await host.command("rename", uuid, { newName: args.new_name });
      return { retcode: 0 };
    },
  },
};
