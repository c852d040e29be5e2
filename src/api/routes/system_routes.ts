/**
 * Service-wide routes: version, host facts, the OpenAPI document and Prometheus metrics.
 *
 * @module
 */

import { StatsReader } from "../../projections/stats_reader.ts";
import { VERSION } from "../../model/version.ts";
import type { RouteAdder } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { OPENAPI_DOCUMENT } from "../openapi.ts";
import { renderStatsMetrics } from "../stats_metrics.ts";
import type { HostView, VersionView } from "../views.ts";

/** Registers the system routes. */
export function systemRoutes(add: RouteAdder): void {
  add("host.version", (_request, { env }) => {
    const view: VersionView = {
      evirt: VERSION,
      api: "v1",
      hypervisors: env.host.drivers.map((driver) => ({
        driver: driver.name,
        version: driver.hypervisorVersion,
        domainTypes: [...driver.domainTypes],
      })),
    };
    return jsonResponse(view);
  });
  add("host.describe", (_request, { env }) => {
    const view: HostView = { hostname: env.hostname(), node: env.nodeInfo() };
    return jsonResponse(view);
  });
  add("host.openapi", () => jsonResponse(OPENAPI_DOCUMENT));
  add(
    "host.metrics",
    async (_request, { env }) =>
      new Response(
        env.metrics.render(env.host, env.store) +
          await renderStatsMetrics(new StatsReader(env.host)),
        { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } },
      ),
  );
}
