/**
 * Procedures of the daily verbs: `virDomainSendKey` (226), `virDomainRename` (358) and
 * `virDomainScreenshot` (211), whose image follows the reply as a stream, as libvirtd sends it.
 *
 * @module
 */

import { screenshot, sendKey } from "../../actors/guest_commands.ts";
import {
  ADDRESS_SOURCES,
  type AddressSource,
  interfaceAddresses,
} from "../../actors/interface_addresses.ts";
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

/** `REMOTE_DOMAIN_INTERFACE_MAX`, `REMOTE_DOMAIN_IP_ADDR_MAX`. */
const DOMAIN_INTERFACE_MAX = 2048;
const DOMAIN_IP_ADDR_MAX = 2048;

/** `remote_domain_interface`. */
const interfaceType = x.struct(
  ["name", nonnullString],
  ["hwaddr", x.optional(nonnullString)],
  [
    "addrs",
    x.array(
      x.struct(["type", x.int], ["addr", nonnullString], ["prefix", x.uint]),
      DOMAIN_IP_ADDR_MAX,
    ),
  ],
);

/** The procedures. */
export const GUEST_PROCEDURES: ProcedureTable = {
  virDomainInterfaceAddresses: {
    proc: 353,
    readOnly: true,
    args: x.struct(["dom", domainType], ["source", x.uint], ["flags", x.uint]),
    ret: x.struct(["ifaces", x.array(interfaceType, DOMAIN_INTERFACE_MAX)]),
    handler: async (args: { dom: WireDomain; source: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "virDomainInterfaceAddresses");
      const source = (Object.keys(ADDRESS_SOURCES) as AddressSource[])
        .find((name) => ADDRESS_SOURCES[name] === args.source);
      if (source === undefined) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          `Unknown IP address data source ${args.source}`,
        );
      }
      const { host, networks } = context.target();
      const inspection = host.inspect(lookupWire(host, args.dom).uuid);
      const interfaces = await interfaceAddresses(inspection.handle?.definition, networks, source);
      return {
        ifaces: interfaces.slice(0, DOMAIN_INTERFACE_MAX).map((iface) => ({
          name: iface.name,
          hwaddr: iface.hwaddr,
          addrs: iface.addrs.map((address) => ({
            type: address.type === "ipv4" ? 0 : 1,
            addr: address.addr,
            prefix: address.prefix,
          })),
        })),
      };
    },
  },
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
