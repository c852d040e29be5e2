/**
 * `/v1/domains/:ref/devices`: attach (POST), detach (POST …/detach) and update (PUT) one device
 * given as libvirt device XML, with `live` / `config` as `virsh attach-device --live --config`.
 * A detach answers the aliases whose removal the guest has not finished within libvirt's 5 s.
 *
 * @module
 */

import type { DeviceAction } from "../../model/device_edit.ts";
import { parseDeviceXml } from "../../xml/parse_device.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { readBodyText } from "../request_body.ts";
import { booleanParam, commandOptions } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

const LEGACY_APIS: Record<DeviceAction, string> = {
  attach: "virDomainAttachDevice",
  detach: "virDomainDetachDevice",
  update: "virDomainUpdateDeviceFlags",
};

/** Registers the device routes. */
export function deviceRoutes(add: RouteAdder): void {
  add("domain.attach_device", (request, context) => changeDevice("attach", request, context));
  add("domain.detach_device", (request, context) => changeDevice("detach", request, context));
  add("domain.update_device", (request, context) => changeDevice("update", request, context));
  add("domain.detach_device_alias", async (_request, context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    const live = booleanParam(context.url, "live");
    const config = booleanParam(context.url, "config");
    const pending = await host.changeDevice(summary.uuid, {
      action: "detach",
      alias: context.params.alias,
      ...(live === undefined ? {} : { live }),
      ...(config === undefined ? {} : { config }),
    }, commandOptions(context));
    return jsonResponse({ pending });
  });
}

async function changeDevice(
  action: DeviceAction,
  request: Request,
  context: Context,
): Promise<Response> {
  const { host } = context.env;
  const summary = host.lookup(context.params.ref);
  const change = parseDeviceXml(await readBodyText(request, context.env.xmlMaxBytes));
  const live = booleanParam(context.url, "live");
  const config = booleanParam(context.url, "config");
  const force = action === "update" ? booleanParam(context.url, "force") : undefined;
  // The call without flags acts on the running guest and names its own API in errors.
  const legacy = action !== "update" && booleanParam(context.url, "legacy") === true;
  const pending = await host.changeDevice(summary.uuid, {
    action,
    change,
    ...(legacy ? { live: true, api: LEGACY_APIS[action] } : {}),
    ...(live === undefined ? {} : { live }),
    ...(config === undefined ? {} : { config }),
    ...(force === undefined ? {} : { force }),
  }, commandOptions(context));
  return jsonResponse({ pending });
}
