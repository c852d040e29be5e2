/**
 * The typed evirt client, used by the CLI and by event subscribers.
 *
 * One client, pluggable transports: a unix socket (`evirt:///system`), TCP with a bearer token
 * (`http://host:port`), or an in-process API (`test:///default`). Errors come back as
 * {@linkcode VirtError}s with libvirt's codes. {@linkcode EvirtClient.events} follows the event
 * stream, reconnecting with backoff and resuming from the last position it delivered, so a
 * subscriber sees each event once, in order, across disconnects.
 *
 * @module
 */

import type { ListFilter } from "../model/domain_list.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, type ErrorCodeValue, libvirtMessage, VirtError } from "../model/errors.ts";
import { type DomainActionName, pathOf } from "../model/operations.ts";
import { type UnixHttpRequest, unixHttpRequest } from "./unix_http.ts";
import type {
  DefineView,
  DomainInfoView,
  DomainSummaryView,
  EventMessage,
  FleetDomainsView,
  FleetEventMessage,
  FleetHostsView,
  GuestsView,
  HostSummaryView,
  HostView,
  MigratedView,
  MigrateLimitsView,
  StateView,
  VersionView,
} from "../api/views.ts";
import type { BlockListView } from "../projections/block_list.ts";
import type { BlockStatsView } from "../projections/block_stats.ts";
import type { InterfaceStatsView } from "../projections/interface_stats.ts";
import type { MemoryStatsView } from "../projections/memory_stats.ts";
import type {
  BlockInfoView,
  DiskErrorsView,
  DomainStatsRecord,
} from "../projections/stats_reader.ts";
import type { VcpusView } from "../projections/vcpu_info.ts";
import type { InterfaceListView } from "../projections/interface_list.ts";
import type { InterfaceAddresses } from "../api/network_views.ts";

/** Sends one request and returns the response (any transport). */
export type Transport = (request: Request) => Promise<Response>;

/** What the client reads of an answer; a fetch `Response` is one. */
export interface ClientResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/**
 * A transport that takes a request's parts instead of a `Request`: building `Request` and
 * `Response` objects costs a short-lived command more than its call (see `unix_http.ts`).
 */
export interface DirectTransport {
  direct(request: UnixHttpRequest): Promise<ClientResponse>;
}

/** What a domain action answers: the domain after it, or `exists: false` when it vanished. */
export type ActionResult = (DomainSummaryView & { exists: true }) | {
  uuid: string;
  name: string;
  exists: false;
};

/** libvirt's list filters, sent as query flags (`noAutostart` as `no_autostart`). */
export type ListDomainsFilter = ListFilter;

/** What {@linkcode EvirtClient.domainStats} asks (`virConnectGetAllDomainStats`). */
export interface DomainStatsOptions {
  /** Groups (`state`, `cpu-total`, `balloon`, `vcpu`, `interface`, `block`, …); none: all. */
  groups?: string[];
  /** These domains, in order (not with list filters). */
  domains?: string[];
  /** libvirt's list filters. */
  filter?: Pick<
    ListDomainsFilter,
    "active" | "inactive" | "persistent" | "transient" | "running" | "paused" | "shutoff" | "other"
  >;
  /** Never wait for a domain's first sample. */
  nowait?: boolean;
  /** Refuse unsupported groups (code 74). */
  enforce?: boolean;
  /** Backing chains (refused: not supported). */
  backing?: boolean;
}

/** Options of {@linkcode EvirtClient.events}. */
export interface FollowOptions {
  /** Deliver events strictly after this position; undefined starts at the head (live only). */
  since?: number;
  /** Only these domains (names or uuids). */
  domains?: string[];
  /** Only these event names (`lifecycle`, `reboot`, …). */
  events?: string[];
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Reconnect after a disconnect or a drop (default true). */
  reconnect?: boolean;
  /** Told of each reconnect attempt, e.g. to show progress. */
  onReconnect?: (attempt: number, delayMs: number, reason: string) => void;
}

/** First delay before reconnecting to the event stream, doubled on each failure. */
const RECONNECT_DELAY_MS_MIN = 100;
/** Longest delay between reconnect attempts. */
const RECONNECT_DELAY_MS_MAX = 5000;
/** Largest SSE message accepted, in bytes. */
const SSE_MESSAGE_MAX_BYTES = 1024 * 1024;

/** The stream's position was pruned: list again, then follow from the head. */
export class StreamGoneError extends VirtError {
  /** The oldest position still retained. */
  readonly oldestPosition: number;

  constructor(message: string, oldestPosition: number) {
    super(ErrorCode.INVALID_ARG, message, { where: "since" });
    this.name = "StreamGoneError";
    this.oldestPosition = oldestPosition;
  }
}

/**
 * A client of the evirt API.
 *
 * @example Listing domains over the local socket
 * ```ts ignore
 * import { EvirtClient, unixTransport } from "./client.ts";
 * const client = new EvirtClient(unixTransport("/run/evirt/evirt.sock"));
 * console.log(await client.listDomains({ active: true }));
 * ```
 */
export class EvirtClient {
  readonly #transport: Transport | DirectTransport;
  readonly #base: string;

  /**
   * @param transport How requests travel.
   * @param base The base URL requests are built on (the host part matters only for TCP).
   */
  constructor(transport: Transport | DirectTransport, base = "http://evirt") {
    this.#transport = transport;
    this.#base = base.replace(/\/+$/, "");
  }

  /** Service and hypervisor versions. */
  version(): Promise<VersionView> {
    return this.#json("GET", pathOf("host.version"));
  }

  /**
   * The host's guests list and the last stop's or start's lines from `after` on; with
   * `waitSeconds`, answered once a new line comes or the pass ends (or the wait is over).
   */
  guests(options: { after?: number; waitSeconds?: number } = {}): Promise<GuestsView> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set("after", String(options.after));
    if (options.waitSeconds !== undefined) query.set("wait", String(options.waitSeconds));
    const text = query.toString();
    return this.#json("GET", `${pathOf("host.guests")}${text === "" ? "" : `?${text}`}`);
  }

  /**
   * Stops the host's guests as libvirt-guests does (`onShutdown`, else the service's
   * `on_shutdown`); answers once the list is recorded, the pass running on.
   */
  stopGuests(onShutdown?: "suspend" | "shutdown"): Promise<GuestsView> {
    const query = onShutdown === undefined ? "" : `?on_shutdown=${onShutdown}`;
    return this.#json("POST", `${pathOf("host.stop_guests")}${query}`);
  }

  /** Starts the listed guests as libvirt-guests does at boot (the service's `on_boot`). */
  startGuests(): Promise<GuestsView> {
    return this.#json("POST", pathOf("host.start_guests"));
  }

  /** The hosts sharing the service's NATS log (code 3 when its log is local). */
  fleetHosts(): Promise<FleetHostsView> {
    return this.#json("GET", pathOf("host.fleet_hosts"));
  }

  /** Every domain of the fleet with the host that owns it (code 3 when the log is local). */
  fleetDomains(): Promise<FleetDomainsView> {
    return this.#json("GET", pathOf("host.fleet_domains"));
  }

  /** Moves a shut-off domain's definition and ownership to `host` of the fleet. */
  migrateOffline(reference: string, host: string): Promise<MigratedView> {
    const query = new URLSearchParams({ host, offline: "true" });
    return this.#json("POST", `${pathOf("domain.migrate", { ref: reference })}?${query}`);
  }

  /** Moves a running domain to `host` of the fleet (a live migration); QEMU's figures. */
  migrateLive(
    reference: string,
    host: string,
    options: { bandwidthMiB?: number; maxDowntimeMs?: number } = {},
  ): Promise<MigratedView> {
    const query = new URLSearchParams({ host, live: "true" });
    if (options.bandwidthMiB !== undefined) query.set("bandwidth", `${options.bandwidthMiB}`);
    if (options.maxDowntimeMs !== undefined) query.set("max_downtime", `${options.maxDowntimeMs}`);
    return this.#json("POST", `${pathOf("domain.migrate", { ref: reference })}?${query}`);
  }

  /** `migrate-getspeed`, `migrate-getmaxdowntime`: a running domain's migration limits. */
  migrateLimits(reference: string): Promise<MigrateLimitsView> {
    return this.#json("GET", pathOf("domain.migrate_limits", { ref: reference }));
  }

  /** `migrate-setspeed` (MiB/s), `migrate-setmaxdowntime` (ms). */
  async setMigrateLimits(
    reference: string,
    limits: { bandwidth?: number; maxDowntime?: number },
  ): Promise<void> {
    const query = new URLSearchParams();
    if (limits.bandwidth !== undefined) query.set("bandwidth", `${limits.bandwidth}`);
    if (limits.maxDowntime !== undefined) query.set("max_downtime", `${limits.maxDowntime}`);
    await this.#request(
      "POST",
      `${pathOf("domain.migrate_limits_set", { ref: reference })}?${query}`,
    );
  }

  /** Hostname and node information. */
  host(): Promise<HostView> {
    return this.#json("GET", pathOf("host.describe"));
  }

  /** The log's position and the event stream's subscribers by kind. */
  hostSummary(): Promise<HostSummaryView> {
    return this.#json("GET", pathOf("host.summary"));
  }

  /** The capabilities XML (`virsh capabilities`). */
  async capabilities(): Promise<string> {
    return await (await this.#request("GET", pathOf("host.capabilities"))).text();
  }

  /** The domain capabilities XML (`virsh domcapabilities`); unset fields take the defaults. */
  async domainCapabilities(
    query: { emulatorbin?: string; arch?: string; machine?: string; virttype?: string } = {},
  ): Promise<string> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) params.set(name, value);
    }
    const text = params.toString();
    const path = pathOf("host.domain_capabilities") + (text === "" ? "" : `?${text}`);
    return await (await this.#request("GET", path)).text();
  }

  /** A native configuration as domain XML (`virsh domxml-from-native FORMAT FILE`). */
  async domainXmlFromNative(format: string, config: string): Promise<string> {
    const path = pathOf("host.domain_xml_from_native", { format });
    return await (await this.#request("POST", path, { body: config, type: "text/plain" })).text();
  }

  /** Domain XML as a native configuration (`virsh domxml-to-native FORMAT FILE`). */
  async domainXmlToNative(format: string, xml: string): Promise<string> {
    const path = pathOf("host.domain_xml_to_native", { format });
    return await (await this.#request("POST", path, { body: xml, type: "application/xml" }))
      .text();
  }

  /** Domains matching libvirt's list filters. */
  async listDomains(filter: ListDomainsFilter = {}): Promise<DomainSummaryView[]> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filter)) {
      if (value) query.set(name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), "true");
    }
    const body = await this.#json<{ domains: DomainSummaryView[] }>(
      "GET",
      `${pathOf("domain.list")}?${query}`,
    );
    return body.domains;
  }

  /** `dominfo`: a domain by name, uuid or id. */
  info(reference: string): Promise<DomainInfoView> {
    return this.#json("GET", pathOf("domain.info", { ref: reference }));
  }

  /** State and reason. */
  state(reference: string): Promise<StateView> {
    return this.#json("GET", pathOf("domain.state", { ref: reference }));
  }

  /** Defines a domain from XML text or the JSON model. */
  define(document: { xml: string } | { definition: DomainDefinition }): Promise<DefineView> {
    return this.#json("POST", pathOf("domain.define"), documentBody(document));
  }

  /** Creates and starts a transient domain. */
  create(
    document: { xml: string } | { definition: DomainDefinition },
    options: { paused?: boolean } = {},
  ): Promise<DomainSummaryView> {
    const query = options.paused ? "?paused=true" : "";
    return this.#json("POST", `${pathOf("domain.create")}${query}`, documentBody(document));
  }

  /** Undefines a domain. */
  async undefine(reference: string): Promise<void> {
    await this.#request("DELETE", pathOf("domain.undefine", { ref: reference }));
  }

  /** Runs a lifecycle action of the operations table (`start`, `shutdown`, `destroy`, …). */
  action(
    reference: string,
    action: DomainActionName,
    options: {
      paused?: boolean;
      /** start: discard a managed save image and boot. */
      forceBoot?: boolean;
      /** start: read a managed save image past the page cache. */
      bypassCache?: boolean;
      graceful?: boolean;
      waitSeconds?: number;
      timeoutSeconds?: number;
      queueTimeoutMs?: number;
      /** shutdown, reboot: `acpi`, `agent` or both, comma-separated (virsh `--mode`). */
      mode?: string;
    } = {},
  ): Promise<ActionResult> {
    const query = new URLSearchParams();
    if (options.mode !== undefined) query.set("mode", options.mode);
    if (options.paused) query.set("paused", "true");
    if (options.forceBoot) query.set("force_boot", "true");
    if (options.bypassCache) query.set("bypass_cache", "true");
    if (options.graceful) query.set("graceful", "true");
    if (options.waitSeconds !== undefined) query.set("wait", String(options.waitSeconds));
    if (options.timeoutSeconds !== undefined) query.set("timeout", String(options.timeoutSeconds));
    if (options.queueTimeoutMs !== undefined) {
      query.set("queue_timeout_ms", String(options.queueTimeoutMs));
    }
    const suffix = query.size > 0 ? `?${query}` : "";
    return this.#json(
      "POST",
      `${pathOf(`domain.${action}`, { ref: reference })}${suffix}`,
    );
  }

  /** Switches autostart. */
  setAutostart(reference: string, autostart: boolean): Promise<DomainSummaryView> {
    return this.#json(
      "PUT",
      pathOf("domain.autostart", { ref: reference }),
      jsonBody({ autostart }),
    );
  }

  /** The domain XML (live unless `inactive`). */
  async xml(
    reference: string,
    options: { inactive?: boolean; secure?: boolean } = {},
  ): Promise<string> {
    const query = new URLSearchParams();
    if (options.inactive) query.set("inactive", "true");
    if (options.secure) query.set("secure", "true");
    const response = await this.#request(
      "GET",
      `${pathOf("domain.xml", { ref: reference })}?${query}`,
    );
    return await response.text();
  }

  /** The definition as the JSON model. */
  definition(
    reference: string,
    options: { inactive?: boolean; secure?: boolean } = {},
  ): Promise<{ modelVersion: number; definition: DomainDefinition }> {
    const query = new URLSearchParams();
    if (options.inactive) query.set("inactive", "true");
    if (options.secure) query.set("secure", "true");
    const text = query.size === 0 ? "" : `?${query}`;
    return this.#json("GET", `${pathOf("domain.definition", { ref: reference })}${text}`);
  }

  /** The title, description, or a namespace's metadata element (as XML). */
  async getMetadata(
    reference: string,
    options: { type: "title" | "description" | "element"; uri?: string; config?: boolean },
  ): Promise<string> {
    const query = new URLSearchParams({ type: options.type });
    if (options.uri !== undefined) query.set("uri", options.uri);
    if (options.config) query.set("config", "true");
    const body = await this.#json<{ value: string }>(
      "GET",
      `${pathOf("domain.metadata_get", { ref: reference })}?${query}`,
    );
    return body.value;
  }

  /** Sets (or with `value: null`, removes) the title, description or a metadata element. */
  async setMetadata(
    reference: string,
    change: {
      type: "title" | "description" | "element";
      value: string | null;
      uri?: string;
      key?: string;
      live?: boolean;
      config?: boolean;
    },
  ): Promise<void> {
    await this.#request(
      "PUT",
      pathOf("domain.metadata_set", { ref: reference }),
      jsonBody(change),
    );
  }

  /**
   * Attaches, detaches or updates one device given as libvirt device XML (`live` / `config` as
   * virsh's; neither: the domain's current state). A detach answers the aliases whose removal
   * the guest had not finished within libvirt's 5 s.
   */
  changeDevice(
    reference: string,
    action: "attach" | "detach" | "update",
    xml: string,
    scope: { live?: boolean; config?: boolean; force?: boolean; legacy?: boolean } = {},
  ): Promise<{ pending: string[] }> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(scope)) {
      if (value !== undefined) params.set(name, String(value));
    }
    const query = params.size === 0 ? "" : `?${params}`;
    const operation = action === "attach"
      ? "domain.attach_device"
      : action === "detach"
      ? "domain.detach_device"
      : "domain.update_device";
    const method = action === "update" ? "PUT" : "POST";
    return this.#json(method, `${pathOf(operation, { ref: reference })}${query}`, {
      body: xml,
      type: "application/xml",
    });
  }

  /**
   * Detaches the device with `alias` (`detach-device-alias`); a live removal is asked of the
   * guest and answered at once, its alias then listed as pending.
   */
  detachDeviceAlias(
    reference: string,
    alias: string,
    scope: { live?: boolean; config?: boolean } = {},
  ): Promise<{ pending: string[] }> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(scope)) {
      if (value !== undefined) params.set(name, String(value));
    }
    const query = params.size === 0 ? "" : `?${params}`;
    return this.#json(
      "POST",
      `${pathOf("domain.detach_device_alias", { ref: reference, alias })}${query}`,
    );
  }

  /** The host path of a running domain's pty console (read-write access only). */
  async consolePath(reference: string, device?: string): Promise<string> {
    const query = device === undefined ? "" : `?device=${encodeURIComponent(device)}`;
    const body = await this.#json<{ path: string }>(
      "GET",
      `${pathOf("domain.console", { ref: reference })}${query}`,
    );
    return body.path;
  }

  /** `domiflist`: the domain's interfaces (live, or the persistent definition's). */
  interfaceList(
    reference: string,
    options: { inactive?: boolean } = {},
  ): Promise<InterfaceListView> {
    const query = options.inactive ? "?inactive=true" : "";
    return this.#json("GET", `${pathOf("domain.interface_list", { ref: reference })}${query}`);
  }

  /** `domifaddr`: a running domain's interface addresses from `source` (default lease). */
  async interfaceAddresses(
    reference: string,
    source?: string,
  ): Promise<InterfaceAddresses[]> {
    const query = source === undefined ? "" : `?${new URLSearchParams({ source })}`;
    const path = `${pathOf("domain.interface_addresses", { ref: reference })}${query}`;
    return (await this.#json<{ interfaces: InterfaceAddresses[] }>("GET", path)).interfaces;
  }

  /** `domrename`: renames an inactive persistent domain. */
  rename(reference: string, newName: string): Promise<DomainSummaryView> {
    const query = new URLSearchParams({ new_name: newName });
    return this.#json("POST", `${pathOf("domain.rename", { ref: reference })}?${query}`);
  }

  /** `setmem`: the current memory in KiB (live through the balloon, or the config's). */
  async setMemory(
    reference: string,
    memoryKiB: number,
    scope: { live?: boolean; config?: boolean } = {},
  ): Promise<void> {
    const query = resourceQuery({ kib: memoryKiB, ...scope });
    await this.#request("POST", `${pathOf("domain.set_memory", { ref: reference })}?${query}`);
  }

  /** `setmaxmem`: the maximum memory in KiB (of the persistent definition). */
  async setMaxMemory(
    reference: string,
    memoryKiB: number,
    scope: { live?: boolean; config?: boolean } = {},
  ): Promise<void> {
    const query = resourceQuery({ kib: memoryKiB, ...scope });
    await this.#request("POST", `${pathOf("domain.set_max_memory", { ref: reference })}?${query}`);
  }

  /** `setvcpus`: the vCPU count (live by hotplug, the config's, or its maximum). */
  async setVcpus(
    reference: string,
    count: number,
    flags: {
      live?: boolean;
      config?: boolean;
      maximum?: boolean;
      guest?: boolean;
      hotpluggable?: boolean;
    } = {},
  ): Promise<void> {
    const query = resourceQuery({ count, ...flags });
    await this.#request("POST", `${pathOf("domain.set_vcpus", { ref: reference })}?${query}`);
  }

  /** `vcpucount`: one vCPU count (current or maximum, live or config). */
  async vcpuCount(
    reference: string,
    flags: { live?: boolean; config?: boolean; maximum?: boolean; guest?: boolean } = {},
  ): Promise<number> {
    const query = resourceQuery(flags);
    const body = await this.#json<{ count: number }>(
      "GET",
      `${pathOf("domain.vcpu_count", { ref: reference })}?${query}`,
    );
    return body.count;
  }

  /** `domiftune`: an interface's seven bandwidth parameters (live, or of the config). */
  async interfaceParameters(
    reference: string,
    device: string,
    scope: { live?: boolean; config?: boolean } = {},
  ): Promise<Array<{ name: string; value: number }>> {
    const query = resourceQuery({ device, ...scope });
    const path = `${pathOf("domain.interface_parameters", { ref: reference })}?${query}`;
    return (await this.#json<{ parameters: Array<{ name: string; value: number }> }>("GET", path))
      .parameters;
  }

  /** `domiftune --inbound/--outbound`: changes an interface's bandwidth (virsh's rate texts). */
  async setInterfaceParameters(
    reference: string,
    device: string,
    change: { inbound?: string; outbound?: string; live?: boolean; config?: boolean },
  ): Promise<void> {
    const query = resourceQuery({ device, ...change });
    await this.#request(
      "POST",
      `${pathOf("domain.set_interface_parameters", { ref: reference })}?${query}`,
    );
  }

  /** `schedinfo`: the scheduler and its parameters (live, or of the persistent config). */
  async schedulerInfo(
    reference: string,
    scope: { live?: boolean; config?: boolean } = {},
  ): Promise<{ scheduler: string; parameters: Array<{ name: string; value: number }> }> {
    const query = resourceQuery(scope);
    return await this.#json(
      "GET",
      `${pathOf("domain.scheduler_info", { ref: reference })}?${query}`,
    );
  }

  /** `schedinfo --set`: sets scheduler parameters (`name=value[,name=value…]`). */
  async setSchedulerParameters(
    reference: string,
    change: { set: string; live?: boolean; config?: boolean },
  ): Promise<void> {
    const query = resourceQuery(change);
    await this.#request(
      "POST",
      `${pathOf("domain.set_scheduler_parameters", { ref: reference })}?${query}`,
    );
  }

  /** `perf`: every perf event and whether it counts (live, or of the persistent config). */
  async perfEvents(
    reference: string,
    scope: { live?: boolean; config?: boolean } = {},
  ): Promise<Array<{ name: string; enabled: boolean }>> {
    const query = resourceQuery(scope);
    const path = `${pathOf("domain.perf_events", { ref: reference })}?${query}`;
    return (await this.#json<{ events: Array<{ name: string; enabled: boolean }> }>("GET", path))
      .events;
  }

  /** `perf --enable/--disable`: starts or stops counting perf events (comma-separated lists). */
  async setPerfEvents(
    reference: string,
    change: { enable?: string; disable?: string; live?: boolean; config?: boolean },
  ): Promise<void> {
    const query = resourceQuery(change);
    await this.#request("POST", `${pathOf("domain.set_perf_events", { ref: reference })}?${query}`);
  }

  /** `blockresize`: the disk's new size (KiB, or bytes with `bytes`). */
  async blockResize(
    reference: string,
    disk: string,
    size: bigint,
    options: { bytes?: boolean } = {},
  ): Promise<void> {
    const query = resourceQuery({ disk, size: size.toString(), ...options });
    await this.#request("POST", `${pathOf("domain.block_resize", { ref: reference })}?${query}`);
  }

  /** `blockcommit`: starts a commit of the disk's images (bandwidth MiB/s unless `bytes`). */
  async blockCommit(
    reference: string,
    disk: string,
    options: {
      base?: string;
      top?: string;
      bandwidth?: bigint;
      shallow?: boolean;
      delete?: boolean;
      active?: boolean;
      relative?: boolean;
      bytes?: boolean;
    } = {},
  ): Promise<void> {
    const query = resourceQuery({ disk, ...options, bandwidth: options.bandwidth?.toString() });
    await this.#request("POST", `${pathOf("domain.block_commit", { ref: reference })}?${query}`);
  }

  /** `blockpull`: starts a pull into the disk's top (bandwidth MiB/s unless `bytes`). */
  async blockPull(
    reference: string,
    disk: string,
    options: { base?: string; bandwidth?: bigint; relative?: boolean; bytes?: boolean } = {},
  ): Promise<void> {
    const query = resourceQuery({ disk, ...options, bandwidth: options.bandwidth?.toString() });
    await this.#request("POST", `${pathOf("domain.block_pull", { ref: reference })}?${query}`);
  }

  /** `blockcopy`: starts a copy of the disk to `dest` (bandwidth MiB/s unless `bytes`). */
  async blockCopy(
    reference: string,
    disk: string,
    dest: string,
    options: {
      format?: string;
      blockdev?: boolean;
      bandwidth?: bigint;
      granularity?: number;
      bufSize?: bigint;
      shallow?: boolean;
      reuseExternal?: boolean;
      transientJob?: boolean;
      synchronousWrites?: boolean;
      bytes?: boolean;
    } = {},
  ): Promise<void> {
    const query = resourceQuery({
      disk,
      dest,
      format: options.format,
      blockdev: options.blockdev,
      bandwidth: options.bandwidth?.toString(),
      granularity: options.granularity,
      buf_size: options.bufSize?.toString(),
      shallow: options.shallow,
      reuse_external: options.reuseExternal,
      transient_job: options.transientJob,
      synchronous_writes: options.synchronousWrites,
      bytes: options.bytes,
    });
    await this.#request("POST", `${pathOf("domain.block_copy", { ref: reference })}?${query}`);
  }

  /** `blockjob --info`: the disk's block job (bandwidth MiB/s unless `bytes`). */
  async blockJobInfo(
    reference: string,
    disk: string,
    options: { bytes?: boolean } = {},
  ): Promise<{ found: boolean; type: number; bandwidth: bigint; cur: bigint; end: bigint }> {
    const query = resourceQuery({ disk, ...options });
    const body = await this.#json<
      { found: boolean; type: number; bandwidth: string; cur: string; end: string }
    >("GET", `${pathOf("domain.block_job_info", { ref: reference })}?${query}`);
    return {
      found: body.found,
      type: body.type,
      bandwidth: BigInt(body.bandwidth),
      cur: BigInt(body.cur),
      end: BigInt(body.end),
    };
  }

  /** `blockjob --abort` / `--pivot`: ends the disk's block job (waits unless `async`). */
  async blockJobAbort(
    reference: string,
    disk: string,
    options: { async?: boolean; pivot?: boolean } = {},
  ): Promise<void> {
    const query = resourceQuery({ disk, ...options });
    await this.#request(
      "POST",
      `${pathOf("domain.block_job_abort", { ref: reference })}?${query}`,
    );
  }

  /** `blockjob --bandwidth`: the disk's block job's speed limit (MiB/s unless `bytes`). */
  async blockJobSetSpeed(
    reference: string,
    disk: string,
    bandwidth: bigint,
    options: { bytes?: boolean } = {},
  ): Promise<void> {
    const query = resourceQuery({ disk, bandwidth: bandwidth.toString(), ...options });
    await this.#request(
      "POST",
      `${pathOf("domain.block_job_set_speed", { ref: reference })}?${query}`,
    );
  }

  /** `send-key`: presses keys (codes of `codeset`) together, held `holdTimeMs` (0: default). */
  async sendKey(
    reference: string,
    keys: { codeset?: string; holdTimeMs?: number; codes: readonly number[] },
  ): Promise<void> {
    const query = new URLSearchParams();
    if (keys.codeset !== undefined) query.set("codeset", keys.codeset);
    if (keys.holdTimeMs !== undefined) query.set("holdtime", String(keys.holdTimeMs));
    for (const code of keys.codes) query.append("keycode", String(code));
    await this.#request("POST", `${pathOf("domain.send_key", { ref: reference })}?${query}`);
  }

  /** `screenshot`: an image of display head `screen` and its media type. */
  async screenshot(
    reference: string,
    screen = 0,
  ): Promise<{ mime: string; data: Uint8Array }> {
    const response = await this.#request(
      "POST",
      `${pathOf("domain.screenshot", { ref: reference })}?screen=${screen}`,
    );
    const mime = headerOf(response, "content-type") ?? "application/octet-stream";
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (response.body !== null) {
      for await (const chunk of response.body) {
        chunks.push(chunk);
        total += chunk.byteLength;
      }
    }
    const data = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      data.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return { mime, data };
  }

  /** `qemu-monitor-command`: QEMU's reply to a raw QMP command (or HMP line with `hmp`). */
  async monitorCommand(
    reference: string,
    command: string,
    options: { hmp?: boolean } = {},
  ): Promise<string> {
    const query = options.hmp ? "?hmp=true" : "";
    const body = await this.#json<{ reply: string }>(
      "POST",
      `${pathOf("domain.monitor_command", { ref: reference })}${query}`,
      { body: command, type: "text/plain" },
    );
    return body.reply;
  }

  /** `qemu-agent-command`: the guest agent's reply to a raw command. */
  async agentCommand(reference: string, command: string, timeoutSeconds = -2): Promise<string> {
    const body = await this.#json<{ reply: string }>(
      "POST",
      `${pathOf("domain.agent_command", { ref: reference })}?timeout=${timeoutSeconds}`,
      { body: command, type: "text/plain" },
    );
    return body.reply;
  }

  /** `domblklist`: the domain's disks (live, or the persistent definition's with `inactive`). */
  blockList(reference: string, options: { inactive?: boolean } = {}): Promise<BlockListView> {
    const query = options.inactive ? "?inactive=true" : "";
    return this.#json("GET", `${pathOf("domain.block_list", { ref: reference })}${query}`);
  }

  /** `domblkinfo`: capacity, allocation and physical size of a disk (target or source path). */
  blockInfo(reference: string, disk: string): Promise<BlockInfoView> {
    return this.#json("GET", pathOf("domain.block_info", { ref: reference, disk }));
  }

  /** `domblkerror`: the disks of a running domain whose I/O failed. */
  diskErrors(reference: string): Promise<DiskErrorsView> {
    return this.#json("GET", pathOf("domain.disk_errors", { ref: reference }));
  }

  /** `domblkstat`: a disk's I/O counters, or without a disk the sum over all disks. */
  blockStats(reference: string, disk?: string): Promise<BlockStatsView> {
    const path = disk === undefined || disk === ""
      ? pathOf("domain.block_stats_total", { ref: reference })
      : pathOf("domain.block_stats", { ref: reference, disk });
    return this.#json("GET", path);
  }

  /** `domifstat`: an interface's counters (by device name or MAC), in the guest's view. */
  interfaceStats(reference: string, iface: string): Promise<InterfaceStatsView> {
    return this.#json("GET", pathOf("domain.interface_stats", { ref: reference, iface }));
  }

  /** `dommemstat`: memory statistics. */
  memoryStats(reference: string): Promise<MemoryStatsView> {
    return this.#json("GET", pathOf("domain.memory_stats", { ref: reference }));
  }

  /** `vcpuinfo`: the vCPUs. */
  vcpus(reference: string): Promise<VcpusView> {
    return this.#json("GET", pathOf("domain.vcpus", { ref: reference }));
  }

  /** `domstats`: stats records, answered from the drivers' samples. */
  async domainStats(options: DomainStatsOptions = {}): Promise<DomainStatsRecord[]> {
    const query = new URLSearchParams();
    if (options.groups !== undefined && options.groups.length > 0) {
      query.set("groups", options.groups.join(","));
    }
    for (const domain of options.domains ?? []) query.append("domain", domain);
    for (const [name, value] of Object.entries(options.filter ?? {})) {
      if (value) query.set(name, "true");
    }
    for (const flag of ["nowait", "enforce", "backing"] as const) {
      if (options[flag]) query.set(flag, "true");
    }
    const body = await this.#json<{ records: DomainStatsRecord[] }>(
      "GET",
      `${pathOf("domain.stats_all")}?${query}`,
    );
    return body.records;
  }

  /** The Prometheus metrics text. */
  async metrics(): Promise<string> {
    return await (await this.#request("GET", pathOf("host.metrics"))).text();
  }

  /**
   * Follows the event stream. Each event is delivered once, in order: after a disconnect or a
   * drop for slowness, the client reconnects with backoff and resumes after the last position it
   * delivered. A pruned position ends the iteration with {@linkcode StreamGoneError}.
   */
  async *events(options: FollowOptions = {}): AsyncGenerator<EventMessage> {
    yield* this.#resuming(options.since, options, (since) => this.#eventStream(since, options));
  }

  /**
   * Follows the fleet event stream (`?scope=fleet`, a NATS log only): every host's facts, each
   * message with its host and fleet id (`SEQ:INDEX`); after a disconnect it resumes after the last
   * id delivered. `since` is an id, or `now` (the default) for new facts only.
   */
  async *fleetEvents(
    options: Omit<FollowOptions, "since" | "domains" | "events"> & { since?: string } = {},
  ): AsyncGenerator<FleetEventMessage> {
    yield* this.#resuming<FleetEventMessage, string>(
      options.since ?? "now",
      options,
      (since) => this.#fleetStream(since ?? "now", options),
    );
  }

  async *#fleetStream(
    since: string,
    options: { signal?: AbortSignal },
  ): AsyncGenerator<{ kind: "event"; message: FleetEventMessage; resume: string }> {
    const query = new URLSearchParams({ scope: "fleet", since });
    const response = await this.#openStream(`${pathOf("domain.events")}?${query}`, options);
    if (response.body === null) return;
    try {
      for await (const message of parseSse(response.body, options.signal)) {
        if (message.data === "" || message.id === undefined) continue;
        const data = JSON.parse(message.data) as Omit<FleetEventMessage, "id">;
        yield { kind: "event", message: { ...data, id: message.id }, resume: message.id };
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (error instanceof VirtError) throw error;
      throw new VirtError(ErrorCode.RPC, `event stream broke: ${(error as Error).message}`);
    }
  }

  /** Yields the messages of `open(since)`, reopening after the last one after a disconnect. */
  async *#resuming<M, P>(
    first: P | undefined,
    options: FollowOptions | Omit<FollowOptions, "since">,
    open: (
      since: P | undefined,
    ) => AsyncGenerator<
      { kind: "event"; message: M; resume: P } | { kind: "dropped"; resumeAfter: P }
    >,
  ): AsyncGenerator<M> {
    let since = first;
    let attempt = 0;
    const reconnect = options.reconnect ?? true;
    while (!options.signal?.aborted) {
      let reason: string;
      try {
        for await (const item of open(since)) {
          attempt = 0;
          if (options.signal?.aborted) return;
          if (item.kind === "event") {
            since = item.resume;
            yield item.message;
          } else if (item.kind === "dropped") {
            since = item.resumeAfter;
          }
        }
        reason = "the stream ended";
      } catch (error) {
        if (options.signal?.aborted) return;
        if (error instanceof StreamGoneError || !reconnect) throw error;
        if (error instanceof VirtError && error.code !== ErrorCode.RPC) throw error;
        reason = (error as Error).message;
      }
      if (!reconnect || options.signal?.aborted) return;
      attempt++;
      const delayMs = Math.min(RECONNECT_DELAY_MS_MAX, RECONNECT_DELAY_MS_MIN * 2 ** (attempt - 1));
      options.onReconnect?.(attempt, delayMs, reason);
      await sleep(delayMs, options.signal);
    }
  }

  async *#eventStream(
    since: number | undefined,
    options: FollowOptions,
  ): AsyncGenerator<
    | { kind: "event"; message: EventMessage; resume: number }
    | { kind: "dropped"; resumeAfter: number }
  > {
    const query = new URLSearchParams();
    if (since !== undefined) query.set("since", String(since));
    for (const domain of options.domains ?? []) query.append("domain", domain);
    for (const event of options.events ?? []) query.append("event", event);
    const response = await this.#openStream(`${pathOf("domain.events")}?${query}`, options);
    if (response.status === 410) {
      const body = await response.json().catch(() => ({})) as {
        error?: { detail?: string };
        oldestPosition?: number;
      };
      throw new StreamGoneError(
        body?.error?.detail ?? "position pruned",
        body?.oldestPosition ?? 0,
      );
    }
    if (!response.ok) throw await errorOf(response);
    if (response.body === null) return;
    try {
      for await (const message of parseSse(response.body, options.signal)) {
        if (message.event === "dropped") {
          const notice = JSON.parse(message.data) as { resumeAfter: number };
          yield { kind: "dropped", resumeAfter: notice.resumeAfter };
          return;
        }
        if (message.data === "") continue;
        const event = JSON.parse(message.data) as EventMessage;
        yield { kind: "event", message: event, resume: event.position };
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (error instanceof VirtError) throw error;
      throw new VirtError(ErrorCode.RPC, `event stream broke: ${(error as Error).message}`);
    }
  }

  /** Opens an event stream; an unreachable service is code 1 (RPC: reconnect). */
  async #openStream(
    path: string,
    options: { signal?: AbortSignal },
  ): Promise<ClientResponse> {
    let response: ClientResponse;
    try {
      response = await this.#send("GET", path, {
        headers: { accept: "text/event-stream" },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      throw new VirtError(
        ErrorCode.RPC,
        `cannot reach the event stream: ${(error as Error).message}`,
      );
    }
    if (response.status !== 410 && !response.ok) throw await errorOf(response);
    return response;
  }

  /**
   * Sends one request and returns the answer, a failure as a {@linkcode VirtError}: for the
   * clients of other resources (`storage_client.ts`) built on this one.
   */
  request(
    method: string,
    path: string,
    body?: { body: string; type: string },
  ): Promise<ClientResponse> {
    return this.#request(method, path, body);
  }

  /** Sends a request whose body is streamed (uploads); `length` frames it when known. */
  async requestStream(
    method: string,
    path: string,
    stream: ReadableStream<Uint8Array>,
    length?: number,
    type = "application/octet-stream",
  ): Promise<ClientResponse> {
    const headers: Record<string, string> = { "content-type": type };
    let response: ClientResponse;
    try {
      const transport = this.#transport;
      response = typeof transport !== "function"
        ? await transport.direct({
          method,
          target: path,
          headers,
          bodyStream: stream,
          ...(length === undefined ? {} : { bodyLength: length }),
        })
        : await transport(
          new Request(`${this.#base}${path}`, {
            method,
            headers: length === undefined ? headers : { ...headers, "content-length": `${length}` },
            body: stream,
            duplex: "half",
          } as RequestInit),
        );
    } catch (error) {
      throw new VirtError(
        ErrorCode.NO_CONNECT,
        `cannot reach the evirt service: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async #json<T>(
    method: string,
    path: string,
    body?: { body: string; type: string },
  ): Promise<T> {
    const response = await this.#request(method, path, body);
    return await response.json() as T;
  }

  async #request(
    method: string,
    path: string,
    body?: { body: string; type: string },
  ): Promise<ClientResponse> {
    let response: ClientResponse;
    try {
      response = await this.#send(
        method,
        path,
        body === undefined ? {} : { body: body.body, headers: { "content-type": body.type } },
      );
    } catch (error) {
      throw new VirtError(
        ErrorCode.NO_CONNECT,
        `cannot reach the evirt service: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  /** Hands one request to the transport, as parts or as a `Request`. */
  #send(
    method: string,
    target: string,
    parts: { headers?: Record<string, string>; body?: string; signal?: AbortSignal },
  ): Promise<ClientResponse> {
    const transport = this.#transport;
    if (typeof transport !== "function") return transport.direct({ method, target, ...parts });
    return transport(new Request(`${this.#base}${target}`, { method, ...parts }));
  }
}

/** A header of an answer, whichever transport gave it. */
function headerOf(response: ClientResponse, name: string): string | null {
  const answer = response as ClientResponse & {
    headers?: Headers;
    header?: (name: string) => string | null;
  };
  return answer.headers?.get(name) ?? answer.header?.(name) ?? null;
}

function documentBody(
  document: { xml: string } | { definition: DomainDefinition },
): { body: string; type: string } {
  return "xml" in document
    ? { body: document.xml, type: "application/xml" }
    : { body: JSON.stringify(document.definition), type: "application/json" };
}

function jsonBody(value: unknown): { body: string; type: string } {
  return { body: JSON.stringify(value), type: "application/json" };
}

async function errorOf(response: ClientResponse): Promise<VirtError> {
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as {
      error: { code: number; detail?: string; message: string; where?: string };
    };
    // A message the service sent without its code's prefix stays without it.
    const bare = error.detail !== undefined && error.message === error.detail &&
      libvirtMessage(error.code, error.detail) !== error.detail;
    return new VirtError(error.code as ErrorCodeValue, error.detail ?? error.message, {
      ...(error.where === undefined ? {} : { where: error.where }),
      ...(bare ? { bare } : {}),
    });
  } catch {
    return new VirtError(
      ErrorCode.RPC,
      `unexpected answer ${response.status} from the service: ${text.slice(0, 200)}`,
    );
  }
}

/** One parsed SSE message. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * Parses a Server-Sent Events byte stream into messages (comments skipped), bounding each
 * message's size. Aborting `signal` cancels the stream and ends the iteration: an abort does not
 * always reach a read already waiting on a quiet stream, and a subscriber that stopped must not
 * wait for the next heartbeat.
 */
export async function* parseSse(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) return;
      buffer += decoder.decode(chunk, { stream: true });
      if (buffer.length > SSE_MESSAGE_MAX_BYTES) {
        throw new VirtError(ErrorCode.RPC, "event stream message too large");
      }
      let newline: number;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          if (data.length > 0 || event !== "message") {
            yield { event, data: data.join("\n"), ...(id === undefined ? {} : { id }) };
          }
          event = "message";
          data = [];
          id = undefined;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(value);
        else if (field === "event") event = value;
        else if (field === "id") id = value;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await reader.cancel().catch(() => {});
  }
}

function sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, delayMs);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A transport over a unix socket (`evirt:///system`), speaking HTTP/1.1 itself. */
export function unixTransport(path: string): DirectTransport {
  return { direct: (request) => unixHttpRequest(path, request) };
}

/** A transport over TCP with an optional bearer token. */
export function httpTransport(token?: string): Transport {
  return (request) => {
    if (token !== undefined) request.headers.set("authorization", `Bearer ${token}`);
    return fetch(request);
  };
}

/** A query of the given values, flags only when true. */
function resourceQuery(values: Record<string, string | number | boolean | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === false) continue;
    query.set(name, value === true ? "true" : String(value));
  }
  return query.toString();
}
