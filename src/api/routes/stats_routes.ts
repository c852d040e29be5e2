/**
 * Block info and statistics: `domblklist`, `domblkinfo`, `domblkstat`, `domifstat`,
 * `dommemstat`, `vcpuinfo` and `domstats` (`virConnectGetAllDomainStats`), all reads. Statistics
 * answer from the drivers' samples and say how old they are (`sampleAgeMs`, `stale`).
 *
 * @module
 */

import { LIST_FILTER_NAMES, type ListFilter } from "../../model/domain_list.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { StatsReader, type StatsRequest } from "../../projections/stats_reader.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { statsStream } from "../stats_stream.ts";
import { booleanParam, listFilterOf } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

/** How long a live block info query may take as a whole, in ms (each QMP query has its own). */
export const BLOCK_INFO_TIMEOUT_MS = 10_000;

/** Most domains one stats request may name. */
export const STATS_DOMAINS_MAX = 4096;

/** virConnectGetAllDomainStats has every list filter but the autostart ones. */
const STATS_FILTERS = LIST_FILTER_NAMES.filter((name) =>
  name !== "autostart" && name !== "noAutostart"
);

/** Registers the block info and statistics routes. */
export function statsRoutes(add: RouteAdder): void {
  add("domain.stats_stream", (_request, context) => {
    const stream = statsStream(
      context.env.host,
      context.params.ref,
      AbortSignal.any([context.signal, context.env.shutdownSignal]),
    );
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });
  add("domain.block_list", (_request, context) => {
    const inactive = booleanParam(context.url, "inactive") ?? false;
    return jsonResponse(reader(context).blockList(context.params.ref, { inactive }));
  });
  add("domain.block_info", async (_request, context) => {
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(BLOCK_INFO_TIMEOUT_MS)]);
    const info = await reader(context).blockInfo(context.params.ref, context.params.disk, signal);
    return jsonResponse(info);
  });
  add("domain.disk_errors", async (_request, context) => {
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(BLOCK_INFO_TIMEOUT_MS)]);
    return jsonResponse(await reader(context).diskErrors(context.params.ref, signal));
  });
  add("domain.block_stats_total", async (_request, context) => {
    return jsonResponse(await reader(context).blockStats(context.params.ref));
  });
  add("domain.block_stats", async (_request, context) => {
    return jsonResponse(await reader(context).blockStats(context.params.ref, context.params.disk));
  });
  add("domain.interface_stats", async (_request, context) => {
    const view = await reader(context).interfaceStats(context.params.ref, context.params.iface);
    return jsonResponse(view);
  });
  add("domain.memory_stats", async (_request, context) => {
    return jsonResponse(await reader(context).memoryStats(context.params.ref));
  });
  add("domain.vcpus", async (_request, context) => {
    const node = context.env.nodeInfo();
    const hostCpus = Math.max(1, node.cpuMapCpus ?? node.cpus);
    return jsonResponse(await reader(context).vcpus(context.params.ref, hostCpus));
  });
  add("domain.stats", async (_request, context) => {
    const request = { ...statsOptions(context.url), domains: [context.params.ref] };
    const [record] = await reader(context).domainStats(request);
    return jsonResponse(record);
  });
  add("domain.stats_all", async (_request, context) => {
    const request: StatsRequest = {
      ...statsOptions(context.url),
      filter: statsFilter(context.url),
    };
    const domains = context.url.searchParams.getAll("domain");
    if (domains.length > STATS_DOMAINS_MAX) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `at most ${STATS_DOMAINS_MAX} domains can be named, got ${domains.length}`,
        { where: "domain" },
      );
    }
    if (domains.length > 0) request.domains = domains;
    return jsonResponse({ records: await reader(context).domainStats(request) });
  });
}

function reader(context: Context): StatsReader {
  return new StatsReader(context.env.host);
}

/** `groups=state,block` (or repeated), `nowait`, `enforce`, `backing`. */
function statsOptions(url: URL): StatsRequest {
  const groups = url.searchParams.getAll("groups").flatMap((value) => value.split(","))
    .map((name) => name.trim()).filter((name) => name !== "");
  return {
    groups,
    nowait: booleanParam(url, "nowait") ?? false,
    enforce: booleanParam(url, "enforce") ?? false,
    backing: booleanParam(url, "backing") ?? false,
  };
}

function statsFilter(url: URL): ListFilter {
  return listFilterOf(url, STATS_FILTERS);
}
