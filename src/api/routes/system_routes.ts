/**
 * Service-wide routes: version, host facts, capabilities and domain capabilities, the OpenAPI
 * document and Prometheus metrics.
 *
 * @module
 */

import type { DomainCapabilitiesQuery } from "../../model/capabilities.ts";
import {
  capabilitiesDocument,
  domainCapabilitiesDocument,
} from "../../projections/host_capabilities.ts";
import { StatsReader } from "../../projections/stats_reader.ts";
import { VERSION } from "../../model/version.ts";
import type { RouteAdder } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { OPENAPI_DOCUMENT } from "../openapi.ts";
import { metricsRecords, renderStatsRecords } from "../stats_metrics.ts";
import { libvirtFamilies } from "../libvirt_metrics.ts";
import { processFamilies } from "../process_metrics.ts";
import { renderFamilies } from "../prometheus_text.ts";
import { fleetOf } from "./fleet_routes.ts";
import type { FleetHostsView, HostView, VersionView } from "../views.ts";
import { hostSummaryView } from "../host_summary.ts";

function xmlResponse(xml: string): Response {
  return new Response(xml, { headers: { "content-type": "application/xml" } });
}

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
  add("host.fleet_hosts", async (_request, { env }) => {
    const view: FleetHostsView = { hosts: await fleetOf(env).hosts() };
    return jsonResponse(view);
  });
  add("host.describe", (_request, { env }) => {
    const view: HostView = { hostname: env.hostname(), node: env.nodeInfo() };
    return jsonResponse(view);
  });
  add("host.summary", (_request, { env }) => jsonResponse(hostSummaryView(env)));
  add(
    "host.capabilities",
    async (_request, { env }) => xmlResponse(await capabilitiesDocument(env.host, env.nodeInfo())),
  );
  add("host.domain_capabilities", async (_request, { env, url }) => {
    const query: DomainCapabilitiesQuery = {};
    for (const name of ["emulatorbin", "arch", "machine", "virttype"] as const) {
      const value = url.searchParams.get(name);
      if (value === null || value === "") continue;
      query[name === "emulatorbin" ? "emulator" : name] = value;
    }
    return xmlResponse(await domainCapabilitiesDocument(env.host, query));
  });
  add("host.openapi", () => jsonResponse(OPENAPI_DOCUMENT));
  add(
    "host.metrics",
    async (_request, { env }) => {
      const records = await metricsRecords(new StatsReader(env.host));
      return new Response(
        env.metrics.render(env.host, env.store) + renderStatsRecords(records) +
          renderFamilies([...libvirtFamilies(env.host, records), ...processFamilies()]),
        { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } },
      );
    },
  );
}
