/**
 * Network port procedures of libvirt's remote program: create from XML, list, look up by uuid,
 * XML, delete and bandwidth parameters (read and set) — the calls `virsh net-port-*` makes. A port travels as
 * `remote_nonnull_network_port` (its network's handle and its own uuid).
 *
 * @module
 */

import type { Networks } from "../../actors/networks.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { Bandwidth, BandwidthRate } from "../model/network.ts";
import { NETWORK_PORTS_MAX, type NetworkPort } from "../model/network_port.ts";
import { checkFlags } from "./domain_lookup.ts";
import { networksOf, networkType, uuidOf, wire, type WireNetwork } from "./network_procedures.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  nonnullString,
  TypedParam,
  typedParamType,
  uuidBytes,
  uuidText,
  uuidType,
  type WireTypedParam,
} from "./protocol.ts";
import { x, type XdrType } from "./xdr.ts";

/** `REMOTE_NETWORK_PORT_PARAMETERS_MAX`. */
export const NETWORK_PORT_PARAMETERS_MAX = 16;

/** `VIR_NETWORK_PORT_CREATE_RECLAIM`. */
export const NETWORK_PORT_CREATE_RECLAIM = 1;

/** `VIR_NETWORK_PORT_CREATE_VALIDATE`: evirt's parser checks always. */
const NETWORK_PORT_CREATE_VALIDATE = 2;

/** `remote_nonnull_network_port`. */
const portType: XdrType = x.struct(["net", networkType], ["uuid", uuidType]);

interface WirePort {
  net: WireNetwork;
  uuid: Uint8Array;
}

function wirePort(networks: Networks, networkUuid: string, port: NetworkPort): WirePort {
  return { net: wire(networks.summary(networks.byUuid(networkUuid))), uuid: uuidBytes(port.uuid) };
}

/** The network and port uuids a wire port names. */
function portOf(networks: Networks, port: WirePort): [string, string] {
  return [uuidOf(networks, port.net), uuidText(port.uuid)];
}

/** The bandwidth parameters libvirt reports for a port, in its order (all unsigned ints). */
function bandwidthParameters(port: NetworkPort): WireTypedParam[] {
  const { inbound, outbound } = port.bandwidth ?? {};
  const fields: Array<[string, number | undefined]> = [
    ["inbound.average", inbound?.average],
    ["inbound.peak", inbound?.peak],
    ["inbound.floor", inbound?.floor],
    ["inbound.burst", inbound?.burst],
    ["outbound.average", outbound?.average],
    ["outbound.peak", outbound?.peak],
    ["outbound.burst", outbound?.burst],
  ];
  return fields.map(([field, value]) => ({
    field,
    value: { type: TypedParam.UINT, value: value ?? 0 },
  }));
}

const BANDWIDTH_FIELDS = [
  "inbound.average",
  "inbound.peak",
  "inbound.floor",
  "inbound.burst",
  "outbound.average",
  "outbound.peak",
  "outbound.burst",
] as const;

/**
 * The bandwidth a `virNetworkPortSetParameters` call asks for, as libvirt builds it: unsigned
 * ints of the seven fields; a direction without an average (or, inbound, a floor) is dropped.
 *
 * @throws {VirtError} 74 for an unknown field, 8 for one of another type.
 */
export function bandwidthOfParameters(params: readonly WireTypedParam[]): Bandwidth | undefined {
  const values = new Map<string, number>();
  for (const param of params) {
    if (!(BANDWIDTH_FIELDS as readonly string[]).includes(param.field)) {
      throw new VirtError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        `parameter '${param.field}' not supported`,
      );
    }
    if (param.value.type !== TypedParam.UINT) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `invalid type '${param.value.type}' for parameter '${param.field}', expected 'uint'`,
      );
    }
    values.set(param.field, Number(param.value.value));
  }
  const rate = (direction: "inbound" | "outbound"): BandwidthRate | undefined => {
    const picked: BandwidthRate = {};
    for (const name of ["average", "peak", "floor", "burst"] as const) {
      const value = values.get(`${direction}.${name}`);
      if (value !== undefined && value > 0) picked[name] = value;
    }
    const kept = picked.average !== undefined ||
      (direction === "inbound" && picked.floor !== undefined);
    return kept ? picked : undefined;
  };
  const inbound = rate("inbound");
  const outbound = rate("outbound");
  if (inbound === undefined && outbound === undefined) return undefined;
  return { ...(inbound ? { inbound } : {}), ...(outbound ? { outbound } : {}) };
}

/** The network port procedures. */
export const NETWORK_PORT_PROCEDURES: ProcedureTable = {
  virNetworkListAllPorts: {
    proc: 404,
    readOnly: true,
    args: x.struct(["network", networkType], ["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["ports", x.array(portType, NETWORK_PORTS_MAX)], ["ret", x.uint]),
    handler: (args: { network: WireNetwork; need_results: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "virNetworkListAllPorts");
      const networks = networksOf(context, "virNetworkListAllPorts");
      const uuid = uuidOf(networks, args.network);
      const ports = networks.ports(uuid);
      return {
        ports: args.need_results ? ports.map((port) => wirePort(networks, uuid, port)) : [],
        ret: ports.length,
      };
    },
  },
  virNetworkPortLookupByUUID: {
    proc: 405,
    readOnly: true,
    args: x.struct(["network", networkType], ["uuid", uuidType]),
    ret: x.struct(["port", portType]),
    handler: (args: { network: WireNetwork; uuid: Uint8Array }, context) => {
      const networks = networksOf(context, "virNetworkPortLookupByUUID");
      const uuid = uuidOf(networks, args.network);
      return { port: wirePort(networks, uuid, networks.port(uuid, uuidText(args.uuid))) };
    },
  },
  virNetworkPortCreateXML: {
    proc: 406,
    readOnly: false,
    args: x.struct(["network", networkType], ["xml", nonnullString], ["flags", x.uint]),
    ret: x.struct(["port", portType]),
    handler: async (args: { network: WireNetwork; xml: string; flags: number }, context) => {
      checkFlags(
        args.flags,
        NETWORK_PORT_CREATE_RECLAIM | NETWORK_PORT_CREATE_VALIDATE,
        "networkPortCreateXML",
      );
      const networks = networksOf(context, "virNetworkPortCreateXML");
      const uuid = uuidOf(networks, args.network);
      const reclaim = (args.flags & NETWORK_PORT_CREATE_RECLAIM) !== 0;
      const port = await networks.createPort(uuid, args.xml, reclaim);
      return { port: wirePort(networks, uuid, port) };
    },
  },
  virNetworkPortGetParameters: {
    proc: 407,
    readOnly: true,
    args: x.struct(["port", portType], ["nparams", x.int], ["flags", x.uint]),
    ret: x.struct(
      ["params", x.array(typedParamType, NETWORK_PORT_PARAMETERS_MAX)],
      ["nparams", x.int],
    ),
    handler: (args: { port: WirePort; nparams: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "networkPortGetParameters");
      const networks = networksOf(context, "virNetworkPortGetParameters");
      const params = bandwidthParameters(networks.port(...portOf(networks, args.port)));
      return { params, nparams: params.length };
    },
  },
  virNetworkPortSetParameters: {
    proc: 408,
    readOnly: false,
    args: x.struct(
      ["port", portType],
      ["params", x.array(typedParamType, NETWORK_PORT_PARAMETERS_MAX)],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: { port: WirePort; params: WireTypedParam[]; flags: number },
      context,
    ) => {
      checkFlags(args.flags, 0, "networkPortSetParameters");
      const networks = networksOf(context, "virNetworkPortSetParameters");
      const bandwidth = bandwidthOfParameters(args.params);
      await networks.setPortBandwidth(...portOf(networks, args.port), bandwidth);
    },
  },
  virNetworkPortGetXMLDesc: {
    proc: 409,
    readOnly: true,
    args: x.struct(["port", portType], ["flags", x.uint]),
    ret: x.struct(["xml", nonnullString]),
    handler: (args: { port: WirePort; flags: number }, context) => {
      checkFlags(args.flags, 0, "networkPortGetXMLDesc");
      const networks = networksOf(context, "virNetworkPortGetXMLDesc");
      return { xml: networks.portXml(...portOf(networks, args.port)) };
    },
  },
  virNetworkPortDelete: {
    proc: 410,
    readOnly: false,
    args: x.struct(["port", portType], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { port: WirePort; flags: number }, context) => {
      checkFlags(args.flags, 0, "networkPortDelete");
      const networks = networksOf(context, "virNetworkPortDelete");
      await networks.deletePort(...portOf(networks, args.port));
    },
  },
};
