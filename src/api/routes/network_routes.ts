/**
 * Virtual network routes: the same network registry libvirt's protocol reaches
 * (`src/rpc/network_procedures.ts`), over HTTP. A network is named by uuid or name
 * (`:network`).
 *
 * @module
 */

import type { Networks } from "../../../actors/networks.ts";
import type { NetworkView } from "../network_views.ts";
import { NETWORK_XML_INACTIVE } from "../../../actors/networks.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { parseUuid } from "../../xml/storage_xml_common.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { readJsonObject } from "../request_body.ts";
import { checkBody, NetworkUpdateSchema } from "../request_schemas.ts";
import {
  NETWORK_UPDATE_AFFECT_CONFIG,
  NETWORK_UPDATE_AFFECT_LIVE,
  NETWORK_UPDATE_COMMANDS,
  NETWORK_UPDATE_SECTIONS,
  type NetworkUpdate,
  type NetworkUpdateCommand,
  type NetworkUpdateSection,
} from "../../model/network_update.ts";
import {
  autostartBody,
  byUuidOrName,
  queryFlag,
  xmlBody,
  xmlResponse,
} from "./object_route_support.ts";

type Context = RouteContext & ApiRequestContext;

function networksOf(context: Context): Networks {
  const networks = context.env.networks;
  if (networks === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "this connection has no networks");
  }
  return networks;
}

/** The network `:network` names. */
function networkOf(networks: Networks, reference: string): NetworkView {
  return networks.summary(byUuidOrName(networks, reference));
}

function current(networks: Networks, uuid: string): Response {
  return jsonResponse(networks.summary(networks.byUuid(uuid)));
}

/** A `NetworkUpdate` body: the update and its `VIR_NETWORK_UPDATE_AFFECT_*` flags. */
async function updateBody(
  request: Request,
  bodyMaxBytes: number,
): Promise<{ update: NetworkUpdate; flags: number }> {
  const body = checkBody(NetworkUpdateSchema, await readJsonObject(request, bodyMaxBytes));
  const flags = (body.live === true ? NETWORK_UPDATE_AFFECT_LIVE : 0) |
    (body.config === true ? NETWORK_UPDATE_AFFECT_CONFIG : 0);
  return {
    update: {
      // The schema admits only the tables' names.
      command: NETWORK_UPDATE_COMMANDS[body.command as NetworkUpdateCommand],
      section: NETWORK_UPDATE_SECTIONS[body.section as NetworkUpdateSection],
      parentIndex: body.parentIndex ?? -1,
      xml: body.xml,
    },
    flags,
  };
}

/** A port's uuid as a path names it, in the form ports are recorded with. */
function portUuidOf(text: string): string {
  try {
    return parseUuid(text, "port");
  } catch {
    throw new VirtError(ErrorCode.NO_NETWORK_PORT, `Network port with UUID ${text} does not exist`);
  }
}

/** Registers the network routes. */
export function networkRoutes(add: RouteAdder): void {
  add("network.list", (_request, context) => {
    return jsonResponse({ networks: networksOf(context).list() });
  });
  add("network.info", (_request, context) => {
    return jsonResponse(networkOf(networksOf(context), context.params.network));
  });
  add("network.dumpxml", (_request, context) => {
    const networks = networksOf(context);
    const network = networkOf(networks, context.params.network);
    const flags = queryFlag(context, "inactive") ? NETWORK_XML_INACTIVE : 0;
    return xmlResponse(networks.xml(network.uuid, flags));
  });
  add("network.dhcp_leases", async (_request, context) => {
    const networks = networksOf(context);
    const { uuid } = networkOf(networks, context.params.network);
    const mac = context.url.searchParams.get("mac") ?? undefined;
    return jsonResponse({ leases: await networks.leases(uuid, mac) });
  });
  add("network.port_list", (_request, context) => {
    const networks = networksOf(context);
    const { uuid } = networkOf(networks, context.params.network);
    const ports = networks.ports(uuid).map((port) => ({ uuid: port.uuid, network: uuid }));
    return jsonResponse({ ports });
  });
  add("network.port_create", async (request, context) => {
    const networks = networksOf(context);
    const { uuid } = networkOf(networks, context.params.network);
    const port = await networks.createPort(uuid, await xmlBody(request));
    return jsonResponse({ uuid: port.uuid, network: uuid }, 201);
  });
  add("network.port_dumpxml", (_request, context) => {
    const networks = networksOf(context);
    const { uuid } = networkOf(networks, context.params.network);
    return xmlResponse(networks.portXml(uuid, portUuidOf(context.params.port)));
  });
  add("network.port_delete", async (_request, context) => {
    const networks = networksOf(context);
    const { uuid } = networkOf(networks, context.params.network);
    await networks.deletePort(uuid, portUuidOf(context.params.port));
    return new Response(null, { status: 204 });
  });
  add("network.define", async (request, context) => {
    return jsonResponse(await networksOf(context).define(await xmlBody(request)), 201);
  });
  add("network.create", async (request, context) => {
    return jsonResponse(await networksOf(context).create(await xmlBody(request)), 201);
  });
  add("network.start", async (_request, context) => {
    const networks = networksOf(context);
    const { uuid } = networkOf(networks, context.params.network);
    await networks.start(uuid);
    return current(networks, uuid);
  });
  add("network.destroy", async (_request, context) => {
    const networks = networksOf(context);
    const known = networkOf(networks, context.params.network);
    await networks.destroy(known.uuid);
    // A transient network is gone once stopped: its last summary, inactive.
    const kept = networks.list().some((network) => network.uuid === known.uuid);
    return kept ? current(networks, known.uuid) : jsonResponse({ ...known, active: false });
  });
  add("network.undefine", async (_request, context) => {
    const networks = networksOf(context);
    await networks.undefine(networkOf(networks, context.params.network).uuid);
    return new Response(null, { status: 204 });
  });
  add("network.update", async (request, context) => {
    const networks = networksOf(context);
    const { update, flags } = await updateBody(request, context.env.bodyMaxBytes);
    const { uuid } = networkOf(networks, context.params.network);
    await networks.update(uuid, update, flags);
    return current(networks, uuid);
  });
  add("network.autostart", async (request, context) => {
    const networks = networksOf(context);
    const autostart = await autostartBody(request, context.env.bodyMaxBytes);
    const { uuid } = networkOf(networks, context.params.network);
    await networks.setAutostart(uuid, autostart);
    return current(networks, uuid);
  });
}
