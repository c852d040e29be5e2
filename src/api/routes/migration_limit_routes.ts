/**
 * A running domain's migration limits: `GET`/`POST /v1/domains/:ref/migrate/limits`
 * (`migrate-getspeed`, `migrate-setspeed`, `migrate-getmaxdowntime`, `migrate-setmaxdowntime`).
 * The migration's progress and cancel are the domain's job (`save_routes.ts`).
 *
 * @module
 */

import { migrationLimits, setMigrationLimits } from "../../../actors/migration_limits.ts";
import { UNLIMITED_BANDWIDTH_MIB } from "../../../actors/driver_protocol.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { RouteAdder } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import type { MigrateLimitsView } from "../views.ts";
import { numberParam } from "./domain_routes.ts";

/** Registers the migration limit routes. */
export function migrationLimitRoutes(add: RouteAdder): void {
  add("domain.migrate_limits", async (_request, context) => {
    const limits = await migrationLimits(context.env.host, context.params.ref, context.signal);
    const view: MigrateLimitsView = {
      bandwidth: limits.bandwidthMiB,
      maxDowntime: limits.maxDowntimeMs,
    };
    return jsonResponse(view);
  });
  add("domain.migrate_limits_set", async (_request, context) => {
    const bandwidth = numberParam(context.url, "bandwidth", 0, UNLIMITED_BANDWIDTH_MIB);
    const maxDowntime = numberParam(context.url, "max_downtime", 1, 2 ** 31 - 1);
    if (bandwidth === undefined && maxDowntime === undefined) {
      throw new VirtError(ErrorCode.INVALID_ARG, "bandwidth or max_downtime is required", {
        where: "bandwidth",
      });
    }
    await setMigrationLimits(context.env.host, context.params.ref, {
      ...(bandwidth === undefined ? {} : { bandwidthMiB: bandwidth }),
      ...(maxDowntime === undefined ? {} : { maxDowntimeMs: maxDowntime }),
    }, context.signal);
    return new Response(null, { status: 204 });
  });
}
