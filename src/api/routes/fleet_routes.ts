/**
 * The fleet's domains (`GET /v1/fleet/domains`: every domain with the host that owns it) and
 * their moves between hosts (`POST /v1/domains/:ref/migrate`, offline).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { ApiEnvironment, RouteAdder } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import type { FleetDomainsView, MigratedView } from "../views.ts";
import { booleanParam, numberParam } from "./domain_routes.ts";
import { UNLIMITED_BANDWIDTH_MIB } from "../../../actors/driver_protocol.ts";

/** Registers the fleet's domain routes. */
export function fleetRoutes(add: RouteAdder): void {
  add("host.fleet_domains", (_request, { env }) => {
    const view: FleetDomainsView = { domains: fleetOf(env).domains?.() ?? [] };
    return jsonResponse(view);
  });
  add("domain.migrate", async (_request, context) => {
    const target = context.url.searchParams.get("host") ?? "";
    if (target === "") {
      throw new VirtError(ErrorCode.INVALID_ARG, "host is required: the host to move to", {
        where: "host",
      });
    }
    const offline = booleanParam(context.url, "offline");
    const live = booleanParam(context.url, "live");
    const fleet = fleetOf(context.env);
    if (offline === true && live === true) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "Flags 'VIR_MIGRATE_LIVE' and 'VIR_MIGRATE_OFFLINE' are mutually exclusive",
      );
    }
    if (offline === true && fleet.moveOffline !== undefined) {
      const moved = await fleet.moveOffline(context.params.ref, target);
      const view: MigratedView = { ...moved, host: target };
      return jsonResponse(view);
    }
    if (fleet.moveLive === undefined) {
      throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainMigrate3");
    }
    const bandwidth = numberParam(context.url, "bandwidth", 0, UNLIMITED_BANDWIDTH_MIB);
    const maxDowntime = numberParam(context.url, "max_downtime", 1, 2 ** 31 - 1);
    const view: MigratedView = await fleet.moveLive(context.params.ref, target, {
      ...(bandwidth === undefined
        ? {}
        : { bandwidthMiB: bandwidth === 0 ? UNLIMITED_BANDWIDTH_MIB : bandwidth }),
      ...(maxDowntime === undefined ? {} : { maxDowntimeMs: maxDowntime }),
    });
    return jsonResponse(view);
  });
}

/**
 * The host's fleet.
 *
 * @throws {VirtError} Code 3 when the host keeps its log locally.
 */
export function fleetOf(env: ApiEnvironment): NonNullable<ApiEnvironment["fleet"]> {
  if (env.fleet === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "this host keeps its log locally (EVIRT_LOG=sqlite): it belongs to no fleet",
    );
  }
  return env.fleet;
}
