/**
 * Virtual network procedures of libvirt's remote program: lists, lookups, define and create,
 * start and destroy, undefine, autostart, info and XML — the calls `virsh net-*` makes. Each
 * handler calls the same network registry the rest of evirt uses. A network travels as
 * `remote_nonnull_network` (name, uuid).
 *
 * @module
 */

import type { Networks, NetworkSummary } from "../../actors/networks.ts";
import { NETWORK_XML_INACTIVE } from "../../actors/networks.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { CallContext, Procedure, ProcedureTable } from "./procedure.ts";
import { nonnullString, optionalString, uuidBytes, uuidText, uuidType } from "./protocol.ts";
import { activeNames, matchesStateFlags, STATE_LIST_FLAGS } from "./object_list.ts";
import { x, type XdrType } from "./xdr.ts";
import {
  NETWORK_UPDATE_AFFECT_CONFIG,
  NETWORK_UPDATE_AFFECT_LIVE,
} from "../model/network_update.ts";

/** `REMOTE_NETWORK_LIST_MAX`. */
export const NETWORK_LIST_MAX = 16_384;

/** `remote_nonnull_network`. */
export const networkType: XdrType = x.struct(["name", nonnullString], ["uuid", uuidType]);

export interface WireNetwork {
  name: string;
  uuid: Uint8Array;
}

const networkArgs = x.struct(["net", networkType]);
const networkRet = x.struct(["net", networkType]);

/** `VIR_NETWORK_DEFINE_VALIDATE`, `VIR_NETWORK_CREATE_VALIDATE`: evirt's parser checks always. */
const VALIDATE = 1;

/** The connection's networks, or code 3 naming `api` where it has none. */
export function networksOf(context: CallContext, api: string): Networks {
  const networks = context.target().networks;
  if (networks === undefined) throw new VirtError(ErrorCode.NO_SUPPORT, api);
  return networks;
}

/** A network's wire handle. */
export function wire(summary: NetworkSummary): WireNetwork {
  return { name: summary.name, uuid: uuidBytes(summary.uuid) };
}

/** The network a wire handle names, by uuid (the handle's identity), as libvirt looks it up. */
export function uuidOf(networks: Networks, net: WireNetwork): string {
  return networks.byUuid(uuidText(net.uuid)).uuid;
}

/** A read of one network: its summary to an answer. */
function networkRead(
  proc: number,
  api: string,
  ret: XdrType,
  answer: (networks: Networks, summary: NetworkSummary) => unknown,
): Procedure {
  return {
    proc,
    readOnly: true,
    args: networkArgs,
    ret,
    handler: (args: { net: WireNetwork }, context) => {
      const networks = networksOf(context, api);
      return answer(networks, networks.summary(networks.byUuid(uuidText(args.net.uuid))));
    },
  };
}

/** A change of one network: look it up, act. */
function networkAction(
  proc: number,
  api: string,
  act: (networks: Networks, uuid: string) => Promise<void>,
): Procedure {
  return {
    proc,
    readOnly: false,
    args: networkArgs,
    ret: x.void,
    handler: async (args: { net: WireNetwork }, context) => {
      const networks = networksOf(context, api);
      await act(networks, uuidOf(networks, args.net));
    },
  };
}

/** A define or create from XML, with or without flags. */
function fromXml(
  proc: number,
  api: string,
  withFlags: boolean,
  make: (networks: Networks, xml: string) => Promise<NetworkSummary>,
): Procedure {
  return {
    proc,
    readOnly: false,
    args: withFlags ? x.struct(["xml", nonnullString], ["flags", x.uint]) : x.struct([
      "xml",
      nonnullString,
    ]),
    ret: networkRet,
    handler: async (args: { xml: string; flags?: number }, context) => {
      checkFlags(args.flags ?? 0, VALIDATE, api);
      return { net: wire(await make(networksOf(context, api), args.xml)) };
    },
  };
}

const listNames = (active: boolean, proc: number, api: string): Procedure => ({
  proc,
  readOnly: true,
  args: x.struct(["maxnames", x.int]),
  ret: x.struct(["names", x.array(nonnullString, NETWORK_LIST_MAX)]),
  handler: (args: { maxnames: number }, context) => ({
    names: activeNames(networksOf(context, api).list(), active, args.maxnames, NETWORK_LIST_MAX),
  }),
});

const count = (active: boolean, proc: number, api: string): Procedure => ({
  proc,
  readOnly: true,
  args: x.void,
  ret: x.struct(["num", x.int]),
  handler: (_args, context) => ({
    num: networksOf(context, api).list().filter((net) => net.active === active).length,
  }),
});

/** The network procedures. */
/** `REMOTE_NETWORK_DHCP_LEASES_MAX`. */
export const NETWORK_DHCP_LEASES_MAX = 65_536;

/** `remote_network_dhcp_lease`. */
const leaseType: XdrType = x.struct(
  ["iface", nonnullString],
  ["expirytime", x.hyper],
  ["type", x.int],
  ["mac", optionalString],
  ["iaid", optionalString],
  ["ipaddr", nonnullString],
  ["prefix", x.uint],
  ["hostname", optionalString],
  ["clientid", optionalString],
);

/** `VIR_IP_ADDR_TYPE_IPV4`, `VIR_IP_ADDR_TYPE_IPV6`. */
const IP_ADDR_TYPES = { ipv4: 0, ipv6: 1 } as const;

export const NETWORK_PROCEDURES: ProcedureTable = {
  virNetworkGetDHCPLeases: {
    proc: 341,
    readOnly: true,
    args: x.struct(
      ["net", networkType],
      ["mac", optionalString],
      ["need_results", x.int],
      ["flags", x.uint],
    ),
    ret: x.struct(["leases", x.array(leaseType, NETWORK_DHCP_LEASES_MAX)], ["ret", x.uint]),
    handler: async (
      args: { net: WireNetwork; mac: string | null; need_results: number; flags: number },
      context,
    ) => {
      checkFlags(args.flags, 0, "virNetworkGetDHCPLeases");
      const networks = networksOf(context, "virNetworkGetDHCPLeases");
      const leases = await networks.leases(uuidOf(networks, args.net), args.mac ?? undefined);
      const wireLeases = leases.slice(0, NETWORK_DHCP_LEASES_MAX).map((lease) => ({
        iface: lease.iface,
        expirytime: lease.expiryTime,
        type: IP_ADDR_TYPES[lease.type],
        mac: lease.mac,
        iaid: lease.iaid ?? null,
        ipaddr: lease.ipaddr,
        prefix: lease.prefix,
        hostname: lease.hostname ?? null,
        clientid: lease.clientid ?? null,
      }));
      return { leases: args.need_results ? wireLeases : [], ret: wireLeases.length };
    },
  },
  virConnectListAllNetworks: {
    proc: 283,
    readOnly: true,
    args: x.struct(["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["nets", x.array(networkType, NETWORK_LIST_MAX)], ["ret", x.uint]),
    handler: (args: { need_results: number; flags: number }, context) => {
      checkFlags(args.flags, STATE_LIST_FLAGS, "virConnectListAllNetworks");
      const networks = networksOf(context, "virConnectListAllNetworks").list()
        .filter((net) => matchesStateFlags(net, args.flags));
      return { nets: args.need_results ? networks.map(wire) : [], ret: networks.length };
    },
  },
  virConnectNumOfNetworks: count(true, 52, "virConnectNumOfNetworks"),
  virConnectListNetworks: listNames(true, 38, "virConnectListNetworks"),
  virConnectNumOfDefinedNetworks: count(false, 50, "virConnectNumOfDefinedNetworks"),
  virConnectListDefinedNetworks: listNames(false, 36, "virConnectListDefinedNetworks"),
  virNetworkLookupByName: {
    proc: 46,
    readOnly: true,
    args: x.struct(["name", nonnullString]),
    ret: networkRet,
    handler: (args: { name: string }, context) => {
      const networks = networksOf(context, "virNetworkLookupByName");
      return { net: wire(networks.summary(networks.byName(args.name))) };
    },
  },
  virNetworkLookupByUUID: {
    proc: 47,
    readOnly: true,
    args: x.struct(["uuid", uuidType]),
    ret: networkRet,
    handler: (args: { uuid: Uint8Array }, context) => {
      const networks = networksOf(context, "virNetworkLookupByUUID");
      return { net: wire(networks.summary(networks.byUuid(uuidText(args.uuid)))) };
    },
  },
  virNetworkDefineXML: fromXml(41, "virNetworkDefineXML", false, (nets, xml) => nets.define(xml)),
  virNetworkDefineXMLFlags: fromXml(
    432,
    "virNetworkDefineXMLFlags",
    true,
    (nets, xml) => nets.define(xml),
  ),
  virNetworkCreateXML: fromXml(40, "virNetworkCreateXML", false, (nets, xml) => nets.create(xml)),
  virNetworkCreateXMLFlags: fromXml(
    437,
    "virNetworkCreateXMLFlags",
    true,
    (nets, xml) => nets.create(xml),
  ),
  virNetworkCreate: networkAction(39, "virNetworkCreate", (nets, uuid) => nets.start(uuid)),
  virNetworkDestroy: networkAction(42, "virNetworkDestroy", (nets, uuid) => nets.destroy(uuid)),
  virNetworkUndefine: networkAction(49, "virNetworkUndefine", (nets, uuid) => nets.undefine(uuid)),
  virNetworkUpdate: {
    proc: 291,
    readOnly: false,
    args: x.struct(
      ["net", networkType],
      ["command", x.uint],
      ["section", x.uint],
      ["parentIndex", x.int],
      ["xml", nonnullString],
      ["flags", x.uint],
    ),
    ret: x.void,
    // The server announces VIR_DRV_FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER, so clients send
    // command and section in their own fields (older libvirt swapped them).
    handler: async (
      args: {
        net: WireNetwork;
        command: number;
        section: number;
        parentIndex: number;
        xml: string;
        flags: number;
      },
      context,
    ) => {
      checkFlags(
        args.flags,
        NETWORK_UPDATE_AFFECT_LIVE | NETWORK_UPDATE_AFFECT_CONFIG,
        "networkUpdate",
      );
      const networks = networksOf(context, "virNetworkUpdate");
      await networks.update(uuidOf(networks, args.net), {
        command: args.command,
        section: args.section,
        parentIndex: args.parentIndex,
        xml: args.xml,
      }, args.flags);
    },
  },
  virNetworkSetAutostart: {
    proc: 48,
    readOnly: false,
    args: x.struct(["net", networkType], ["autostart", x.int]),
    ret: x.void,
    handler: async (args: { net: WireNetwork; autostart: number }, context) => {
      const networks = networksOf(context, "virNetworkSetAutostart");
      await networks.setAutostart(uuidOf(networks, args.net), args.autostart !== 0);
    },
  },
  virNetworkGetXMLDesc: {
    proc: 43,
    readOnly: true,
    args: x.struct(["net", networkType], ["flags", x.uint]),
    ret: x.struct(["xml", nonnullString]),
    handler: (args: { net: WireNetwork; flags: number }, context) => {
      checkFlags(args.flags, NETWORK_XML_INACTIVE, "virNetworkGetXMLDesc");
      const networks = networksOf(context, "virNetworkGetXMLDesc");
      return { xml: networks.xml(uuidOf(networks, args.net), args.flags) };
    },
  },
  virNetworkGetBridgeName: networkRead(
    45,
    "virNetworkGetBridgeName",
    x.struct(["name", nonnullString]),
    (networks, summary) => ({ name: networks.bridgeName(summary.uuid) }),
  ),
  virNetworkGetAutostart: networkRead(
    44,
    "virNetworkGetAutostart",
    x.struct(["autostart", x.int]),
    (_networks, summary) => ({ autostart: summary.autostart ? 1 : 0 }),
  ),
  virNetworkIsActive: networkRead(
    152,
    "virNetworkIsActive",
    x.struct(["active", x.int]),
    (_networks, summary) => ({ active: summary.active ? 1 : 0 }),
  ),
  virNetworkIsPersistent: networkRead(
    153,
    "virNetworkIsPersistent",
    x.struct(["persistent", x.int]),
    (_networks, summary) => ({ persistent: summary.persistent ? 1 : 0 }),
  ),
};
