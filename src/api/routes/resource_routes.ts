/**
 * The routes that change a domain's resources: `setmem`, `setmaxmem`, `setvcpus`,
 * `blockresize`, `perf --enable/--disable`, and the `vcpucount` and `perf` reads. Each change is a job in the domain's queue
 * (`actors/resource_commands.ts`); the flags are libvirt's, given as query flags.
 *
 * @module
 */

import { perfEventsOf } from "../../../actors/perf_commands.ts";
import { interfaceParametersOf } from "../../../actors/interface_tune_commands.ts";
import { rateSettings } from "../../model/interface_tune.ts";
import { schedulerSettingsOf } from "../../model/scheduler_params.ts";
import { schedulerInfo } from "../../../actors/scheduler_info.ts";
import { vcpuCountOf } from "../../../actors/resource_commands.ts";
import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  BLOCK_RESIZE_BYTES,
  MAXIMUM,
  VCPU_GUEST,
  VCPU_HOTPLUGGABLE,
} from "../../model/domain_resources.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { QUEUE_TIMEOUT_MAX_MS } from "../../model/operations.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { booleanParam, numberParam } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

/** The flags the query names, as libvirt's bits. */
export function flagsOf(url: URL, bits: Record<string, number>): number {
  let flags = 0;
  for (const [name, bit] of Object.entries(bits)) {
    if (booleanParam(url, name) === true) flags |= bit;
  }
  return flags;
}

function requiredNumber(url: URL, name: string, max: number): number {
  const value = numberParam(url, name, 0, max);
  if (value === undefined || !Number.isInteger(value)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `${name} must be given as an integer`, {
      where: name,
    });
  }
  return value;
}

/** The queue options of a route's job: the request's signal and its `queue_timeout_ms`. */
export function queueOptions(context: Context) {
  const queueTimeoutMs = numberParam(context.url, "queue_timeout_ms", 0, QUEUE_TIMEOUT_MAX_MS);
  return { signal: context.signal, ...(queueTimeoutMs === undefined ? {} : { queueTimeoutMs }) };
}

/** A decimal size that may exceed 2^53 (block sizes in bytes). */
function sizeParam(url: URL): bigint {
  const text = url.searchParams.get("size") ?? "";
  if (!/^[0-9]{1,20}$/.test(text) || BigInt(text) >= 1n << 64n) {
    throw new VirtError(ErrorCode.INVALID_ARG, `size must be a decimal integer, got '${text}'`, {
      where: "size",
    });
  }
  return BigInt(text);
}

const MEMORY_FLAGS = { live: AFFECT_LIVE, config: AFFECT_CONFIG };
const VCPU_FLAGS = {
  live: AFFECT_LIVE,
  config: AFFECT_CONFIG,
  maximum: MAXIMUM,
  guest: VCPU_GUEST,
  hotpluggable: VCPU_HOTPLUGGABLE,
};

/** Registers the routes. */
export function resourceRoutes(add: RouteAdder): void {
  add("domain.set_memory", async (_request, context) => {
    const { host } = context.env;
    const memoryKiB = requiredNumber(context.url, "kib", Number.MAX_SAFE_INTEGER);
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    const api = "virDomainSetMemoryFlags";
    const { uuid } = host.lookup(context.params.ref);
    await host.command("setmem", uuid, { memoryKiB, flags, api }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.set_max_memory", async (_request, context) => {
    const { host } = context.env;
    const memoryKiB = requiredNumber(context.url, "kib", Number.MAX_SAFE_INTEGER);
    const flags = flagsOf(context.url, MEMORY_FLAGS) | MAXIMUM;
    const api = "virDomainSetMemoryFlags";
    const { uuid } = host.lookup(context.params.ref);
    await host.command("setmem", uuid, { memoryKiB, flags, api }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.set_vcpus", async (_request, context) => {
    const { host } = context.env;
    const count = requiredNumber(context.url, "count", 0xffff);
    const flags = flagsOf(context.url, VCPU_FLAGS);
    const api = "virDomainSetVcpusFlags";
    const { uuid } = host.lookup(context.params.ref);
    await host.command("setvcpus", uuid, { count, flags, api }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.vcpu_count", (_request, context) => {
    const flags = flagsOf(context.url, {
      live: AFFECT_LIVE,
      config: AFFECT_CONFIG,
      maximum: MAXIMUM,
      guest: VCPU_GUEST,
    });
    const inspection = context.env.host.inspect(context.params.ref);
    return jsonResponse({ count: vcpuCountOf(inspection, flags) });
  });
  add("domain.block_resize", async (_request, context) => {
    const { host } = context.env;
    const disk = context.url.searchParams.get("disk") ?? "";
    if (disk === "") {
      throw new VirtError(ErrorCode.INVALID_ARG, "disk must be given", { where: "disk" });
    }
    const size = sizeParam(context.url);
    const flags = booleanParam(context.url, "bytes") === true ? BLOCK_RESIZE_BYTES : 0;
    const { uuid } = host.lookup(context.params.ref);
    await host.command("blockresize", uuid, { disk, size, flags }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.interface_parameters", (_request, context) => {
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    const parameters = interfaceParametersOf(
      context.env.host.inspect(context.params.ref),
      deviceParam(context.url),
      flags,
    );
    return jsonResponse({ parameters });
  });
  add("domain.set_interface_parameters", async (_request, context) => {
    const { host } = context.env;
    const device = deviceParam(context.url);
    const settings = (["inbound", "outbound"] as const).flatMap((direction) => {
      const text = context.url.searchParams.get(direction);
      return text === null ? [] : rateSettings(direction, text);
    });
    if (settings.length === 0) {
      throw new VirtError(ErrorCode.INVALID_ARG, "inbound or outbound must be given", {
        where: "inbound",
      });
    }
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    const { uuid } = host.lookup(context.params.ref);
    await host.command("iftune", uuid, { device, settings, flags }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.scheduler_info", (_request, context) => {
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    return jsonResponse(schedulerInfo(context.env.host, context.params.ref, flags));
  });
  add("domain.set_scheduler_parameters", async (_request, context) => {
    const { host } = context.env;
    const settings = schedulerSettingsOf(context.url.searchParams.get("set") ?? "");
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    const { uuid } = host.lookup(context.params.ref);
    await host.command("schedinfo", uuid, { settings, flags }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.perf_events", (_request, context) => {
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    const events = perfEventsOf(context.env.host.inspect(context.params.ref), flags);
    return jsonResponse({ events });
  });
  add("domain.set_perf_events", async (_request, context) => {
    const { host } = context.env;
    // As virsh: the events to enable, then those to disable, each list split at commas.
    const listed = (name: string, enabled: boolean) =>
      (context.url.searchParams.get(name) ?? "").split(",").filter((event) => event !== "")
        .map((event) => ({ name: event, enabled }));
    const settings = [...listed("enable", true), ...listed("disable", false)];
    if (settings.length === 0) {
      throw new VirtError(ErrorCode.INVALID_ARG, "enable or disable must name an event", {
        where: "enable",
      });
    }
    const flags = flagsOf(context.url, MEMORY_FLAGS);
    const { uuid } = host.lookup(context.params.ref);
    await host.command("perf", uuid, { settings, flags }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
}

/** The `device` query parameter (required). */
function deviceParam(url: URL): string {
  const device = url.searchParams.get("device");
  if (device === null || device === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "device must be given", { where: "device" });
  }
  return device;
}
