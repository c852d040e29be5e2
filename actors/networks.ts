/**
 * Every virtual network of the service: their actors (one stream each), lookups by name and
 * uuid, define, create, undefine, start, destroy, autostart and the XML, with libvirt 9.0's
 * checks, codes and messages; and recovery — replay of the network streams with the same fold
 * as live, then each intent a crash left pending is finished or undone.
 *
 * A start records its intent, makes the network (`drivers/network/network_runtime.ts`: bridge,
 * dnsmasq, firewall rules) and records it started with its dnsmasq's identity; a failed start
 * is undone and recorded abandoned. A stop likewise. At open, a network recorded running is
 * re-adopted when its bridge and dnsmasq (same pid, same start time) are still there, and
 * reported otherwise; a pending start is undone, a pending stop finished. Without a runtime
 * (tests of the bookkeeping alone) a start is refused with code 84 after libvirt's checks.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { hasManagedBridge, type NetworkDefinition } from "../src/model/network.ts";
import { linkExists, type NetworkRuntime } from "../drivers/network/network_runtime.ts";
import { checkRouteCollision, parseProcNetRoute } from "../drivers/network/route_collision.ts";
import { checkNetworkRunnable, completeNetworkDefinition } from "../src/model/network_defaults.ts";
import {
  isNetworkFactType,
  type NetworkFact,
  networkStream,
  uuidOfNetworkStream,
} from "../src/model/network_facts.ts";
import { formatNetworkXml } from "../src/xml/format_network.ts";
import { formatNetworkPortXml } from "../src/xml/format_network_port.ts";
import { parseNetworkPortXml } from "../src/xml/parse_network_port.ts";
import {
  NETWORK_PORT_XML_MAX_BYTES,
  NETWORK_PORTS_MAX,
  type NetworkPort,
} from "../src/model/network_port.ts";
import { allocateNetworkPort, checkFloor } from "../src/model/network_port_allocation.ts";
import type { Bandwidth } from "../src/model/network.ts";
import { type NetworkLease, parseLeaseEvents } from "../src/model/network_leases.ts";
import { effectivePrefix, inNetwork, parseIp } from "../src/model/ip_address.ts";
import { parseNetworkXml } from "../src/xml/parse_network.ts";
import { applyNetworkUpdate } from "../src/xml/network_update.ts";
import {
  NETWORK_UPDATE_AFFECT_CONFIG,
  NETWORK_UPDATE_AFFECT_LIVE,
  NETWORK_UPDATE_SECTIONS,
  type NetworkUpdate,
} from "../src/model/network_update.ts";
import type { DnsmasqReloadMode } from "../src/model/network_facts.ts";
import { ObjectRegistry } from "./object_registry.ts";
import {
  applyNetworkFact,
  isNetworkActive,
  type NetworkSnapshot,
  networkStateName,
  newNetworkSnapshot,
} from "./network_machine.ts";
import {
  type AppliedFact,
  FactListeners,
  replayStreams,
  StreamActor,
  type StreamKind,
} from "./stream_actor.ts";

/** Most listeners {@linkcode Networks.subscribe} keeps (one per event-watching connection). */
export const NETWORK_LISTENERS_MAX = 4096;

/** Most networks the service keeps. */
export const NETWORKS_MAX = 4096;

/** Largest network XML accepted, in bytes. */
export const NETWORK_XML_MAX_BYTES = 1024 * 1024;

/** `VIR_NETWORK_XML_INACTIVE`. */
export const NETWORK_XML_INACTIVE = 1;

/** A network fact as it was applied. */
export type AppliedNetworkFact = AppliedFact<NetworkFact>;

/** One network's actor. */
export type NetworkActor = StreamActor<NetworkSnapshot, NetworkFact>;

const NETWORK_KIND: StreamKind<NetworkSnapshot, NetworkFact> = {
  label: "network",
  stream: networkStream,
  initial: newNetworkSnapshot,
  apply: applyNetworkFact,
  nameOf: (snapshot) => snapshot.context.definition?.name,
};

/** One network as a list shows it. */
export interface NetworkSummary {
  uuid: string;
  name: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  /** The bridge's name, where the network has one. */
  bridge?: string;
}

/** Options of {@linkcode Networks.open}. */
export interface NetworksOptions {
  /** The log. */
  store: EventStore;
  /** Where recovery reports what it corrected. */
  log?: (message: string) => void;
  /** Start autostart networks (the first service start since boot). */
  autostart?: boolean;
  /** Whether a host network device of this name exists (skipped when picking `virbrN`). */
  hostLinkExists?: (name: string) => boolean;
  /** The host's IPv4 routes, as `/proc/net/route` prints them (checked at start). */
  routeTable?: () => string;
  /** What makes and removes running networks; without it a start is refused (code 84). */
  runtime?: NetworkRunner;
  /** The clock, in ms since the epoch (lease expiry). */
  now?: () => number;
  /** How often running networks' lease changes are read; 0: only when leases are asked for. */
  leasePollIntervalMs?: number;
}

/** The part of {@linkcode NetworkRuntime} the networks use. */
export type NetworkRunner =
  & Pick<NetworkRuntime, "start" | "stop" | "check">
  & Partial<Pick<NetworkRuntime, "leaseEventsPath" | "reload">>;

/** Most bytes of a lease script's output read at once (the rest on the next read). */
const LEASE_EVENTS_READ_MAX_BYTES = 256 * 1024;

/** How often running networks' lease changes are read into the log, in ms. */
export const LEASE_POLL_INTERVAL_MS = 1000;

/** A lease as `net-dhcp-leases` shows it (`virNetworkDHCPLease`). */
export interface NetworkLeaseView {
  /** The bridge. */
  iface: string;
  /** Seconds since the epoch; 0: never. */
  expiryTime: number;
  type: "ipv4" | "ipv6";
  mac: string;
  iaid?: string;
  ipaddr: string;
  prefix: number;
  hostname?: string;
  clientid?: string;
}

/** Most bytes of `/proc/net/route` read. */
const ROUTE_TABLE_MAX_BYTES = 8 * 1024 * 1024;

/** The text of `/proc/net/route` (empty where it cannot be read). */
function procRouteTable(): string {
  try {
    return Deno.readTextFileSync("/proc/net/route").slice(0, ROUTE_TABLE_MAX_BYTES);
  } catch {
    return "";
  }
}

/**
 * The service's networks.
 *
 * @example
 * ```ts ignore
 * const networks = await Networks.open({ store });
 * const summary = await networks.define("<network><name>n</name></network>");
 * console.log(networks.xml(summary.uuid, 0));
 * ```
 */
export class Networks {
  readonly #store: EventStore;
  readonly #hostLinkExists: (name: string) => boolean;
  readonly #routeTable: () => string;
  readonly #runtime: NetworkRunner | undefined;
  readonly #now: () => number;
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  readonly #registry: ObjectRegistry<NetworkActor> = new ObjectRegistry({
    noun: "network",
    missing: ErrorCode.NO_NETWORK,
    make: (uuid) =>
      new StreamActor(uuid, this.#store, NETWORK_KIND, (facts) => this.#listeners.publish(facts)),
    exists: (actor) => networkStateName(actor.snapshot) !== "nonexistent",
    nameOf,
  });
  readonly #listeners = new FactListeners<AppliedNetworkFact>(
    NETWORK_LISTENERS_MAX,
    "network event listeners",
  );

  private constructor(options: NetworksOptions) {
    this.#store = options.store;
    this.#hostLinkExists = options.hostLinkExists ?? linkExists;
    this.#routeTable = options.routeTable ?? procRouteTable;
    this.#runtime = options.runtime;
    this.#now = options.now ?? Date.now;
  }

  /** Replays the log's network streams and finishes what a crash left pending. */
  static async open(options: NetworksOptions): Promise<Networks> {
    const networks = new Networks(options);
    await replayStreams<NetworkFact>(
      networks.#store,
      uuidOfNetworkStream,
      isNetworkFactType,
      (uuid) => networks.#registry.actorFor(uuid),
    );
    networks.#registry.forgetGone();
    const log = options.log ?? (() => {});
    await networks.#reconcile(log);
    if (options.autostart === true) await networks.#autostartAll(log);
    const interval = options.leasePollIntervalMs ?? 0;
    if (interval > 0 && options.runtime?.leaseEventsPath !== undefined) {
      networks.#pollLeases(interval, log);
    }
    return networks;
  }

  /**
   * What a restart found: a pending start is undone (whatever of the network exists is
   * removed) and recorded abandoned, a transient network then forgotten; a pending stop is
   * finished; a running network is re-adopted when it is intact, reported otherwise.
   */
  async #reconcile(log: (message: string) => void): Promise<void> {
    const runtime = this.#runtime;
    for (const actor of this.actors()) {
      const context = actor.snapshot.context;
      const intent = context.intent;
      const name = nameOf(actor);
      if (intent === null) {
        if (!isNetworkActive(actor.snapshot) || runtime === undefined) continue;
        const state = context.dnsmasq === null ? {} : { dnsmasq: context.dnsmasq };
        const check = runtime.check(definitionOf(actor), state);
        if (!check.intact) log(`network '${name}' runs incomplete: ${check.problems.join("; ")}`);
        continue;
      }
      await actor.run("reconcile", async () => {
        if (intent.kind === "reload" && runtime?.reload !== undefined) {
          // The definition in force is already the updated one: dnsmasq is made to follow it.
          const definition = definitionOf(actor);
          try {
            await this.#reload(actor, undefined, definition, intent.mode ?? "restart");
            log(`network '${name}': dnsmasq reload interrupted by a restart is finished`);
          } catch (error) {
            log(
              `network '${name}': dnsmasq reload interrupted by a restart failed: ${String(error)}`,
            );
          }
          return;
        }
        if (intent.kind === "stop" && runtime !== undefined) {
          const state = context.dnsmasq === null ? {} : { dnsmasq: context.dnsmasq };
          try {
            await runtime.stop(definitionOf(actor), state);
            log(`network '${name}': stop interrupted by a restart is finished`);
            await actor.append([{ type: "network.stopped", body: {} }]);
            return;
          } catch (error) {
            log(`network '${name}': stop interrupted by a restart failed again: ${String(error)}`);
          }
        } else if (intent.kind === "start" && runtime !== undefined) {
          await runtime.stop(definitionOf(actor), {}).catch((error) => {
            log(`network '${name}': undoing an interrupted start failed: ${String(error)}`);
          });
        }
        log(`network '${name}': ${intent.kind} interrupted by a restart is abandoned`);
        const facts: NetworkFact[] = [{
          type: "network.intent_abandoned",
          body: { intent: intent.kind },
        }];
        if (intent.kind === "start" && !context.persistent && !isNetworkActive(actor.snapshot)) {
          facts.push({ type: "network.undefined", body: {} });
        }
        await actor.append(facts);
      });
      this.#registry.forgetIfGone(actor);
    }
  }

  async #autostartAll(log: (message: string) => void): Promise<void> {
    for (const actor of this.actors()) {
      if (!actor.snapshot.context.autostart || isNetworkActive(actor.snapshot)) continue;
      await this.start(actor.uuid).catch((error) => {
        log(`autostart of network '${nameOf(actor)}' failed: ${String(error)}`);
      });
    }
  }

  /**
   * Tells `listener` of every fact made durable from now on (live only). Returns the function
   * that stops it.
   *
   * @throws {VirtError} Code 87 beyond {@linkcode NETWORK_LISTENERS_MAX} listeners.
   */
  subscribe(listener: (facts: AppliedNetworkFact[]) => void): () => void {
    return this.#listeners.add(listener);
  }

  /** Every existing network's actor. */
  actors(): NetworkActor[] {
    return this.#registry.actors();
  }

  /** Every network, sorted by name. */
  list(): NetworkSummary[] {
    return this.#registry.list(summaryOf);
  }

  /**
   * The network named `name`.
   *
   * @throws {VirtError} Code 43 `no network with matching name '…'`.
   */
  byName(name: string): NetworkActor {
    return this.#registry.byName(name);
  }

  /**
   * The network with `uuid`.
   *
   * @throws {VirtError} Code 43 `no network with matching uuid '…'`.
   */
  byUuid(uuid: string): NetworkActor {
    return this.#registry.byUuid(uuid);
  }

  /** The summary of one network. */
  summary(actor: NetworkActor): NetworkSummary {
    return summaryOf(actor);
  }

  /**
   * Defines (or redefines) a persistent network from XML (`net-define`). Redefining a running
   * network records the definition its next start uses.
   *
   * @throws {VirtError} The parser's and completion's errors (a bridge name in use: code 1);
   *   code 9 for a name or uuid taken by another network.
   */
  define(xml: string): Promise<NetworkSummary> {
    return this.#registry.exclusive(async () => {
      const definition = this.#checkedDefinition(xml);
      const existing = this.#registry.existing(definition.uuid) !== undefined;
      const actor = this.#registry.actorFor(definition.uuid);
      await actor.run("define", () =>
        actor.append([{
          type: "network.defined",
          body: { definition, detail: existing ? "updated" : "added", persistent: true },
        }]));
      return summaryOf(actor);
    });
  }

  /**
   * Creates and starts a transient network from XML (`net-create`); an inactive network of the
   * same name and uuid starts with this definition, which it keeps.
   *
   * @throws {VirtError} As {@linkcode define}; code 55 when the network is active; as
   *   {@linkcode start}.
   */
  create(xml: string): Promise<NetworkSummary> {
    return this.#registry.exclusive(async () => {
      const definition = this.#checkedDefinition(xml);
      const existing = this.#registry.existing(definition.uuid);
      if (existing !== undefined && isNetworkActive(existing.snapshot)) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          `network is already active as '${nameOf(existing)}'`,
        );
      }
      this.#checkStartable(definition);
      const runtime = this.#runtime;
      if (runtime === undefined) throw noRuntime(definition.name);
      const known = this.#registry.existing(definition.uuid) !== undefined;
      const actor = this.#registry.actorFor(definition.uuid);
      await actor.run("create", async () => {
        const persistent = known && actor.snapshot.context.persistent;
        await this.#startWith(actor, definition, runtime, [{
          type: "network.defined",
          body: { definition, detail: known ? "updated" : "added", persistent },
        }]);
      });
      this.#registry.forgetIfGone(actor);
      return summaryOf(actor);
    });
  }

  /**
   * Records the start intent (after `before`), makes the network and records it started; on
   * failure (the runtime has undone its steps) records the start abandoned, and forgets a
   * transient network.
   */
  async #startWith(
    actor: NetworkActor,
    definition: NetworkDefinition,
    runtime: NetworkRunner,
    before: NetworkFact[] = [],
  ): Promise<void> {
    await actor.append([...before, {
      type: "network.starting",
      body: { bridge: definition.bridge.name ?? "" },
    }]);
    let state;
    try {
      state = await runtime.start(definition);
    } catch (error) {
      const facts: NetworkFact[] = [{
        type: "network.intent_abandoned",
        body: { intent: "start" },
      }];
      if (!actor.snapshot.context.persistent) facts.push({ type: "network.undefined", body: {} });
      await actor.append(facts);
      throw error;
    }
    await actor.append([{
      type: "network.started",
      body: state.dnsmasq === undefined ? {} : { dnsmasq: state.dnsmasq },
    }]);
  }

  /**
   * Removes a network's persistent definition (`net-undefine`): an inactive network is gone;
   * a running one runs on as transient.
   *
   * @throws {VirtError} Code 55 for a transient network.
   */
  undefine(uuid: string): Promise<void> {
    return this.#registry.exclusive(async () => {
      const actor = this.byUuid(uuid);
      await actor.run("undefine", async () => {
        if (!actor.snapshot.context.persistent) {
          throw new VirtError(ErrorCode.OPERATION_INVALID, "can't undefine transient network");
        }
        await actor.append([{ type: "network.undefined", body: {} }]);
      });
      this.#registry.forgetIfGone(actor);
    });
  }

  /**
   * Starts an inactive network (`net-start`): the intent is recorded, the network made, and
   * it is recorded started; a failed start is undone and recorded abandoned. A running network
   * whose dnsmasq died gets a new one, handed the leases the log holds.
   *
   * @throws {VirtError} Code 55 when it is active; 67 for a forward mode evirt cannot run;
   *   1 when a host route already covers one of its subnets or static routes (libvirt's check:
   *   another running network's included); 38 when a step on the host fails (a bridge name
   *   in use); 84 without a runtime.
   */
  start(uuid: string): Promise<void> {
    const actor = this.byUuid(uuid);
    return actor.run("start", async () => {
      if (isNetworkActive(actor.snapshot)) {
        if (await this.#restartDeadDnsmasq(actor)) return;
        throw new VirtError(ErrorCode.OPERATION_INVALID, "network is already active");
      }
      const definition = definitionOf(actor);
      this.#checkStartable(definition);
      if (this.#runtime === undefined) throw noRuntime(definition.name);
      await this.#startWith(actor, definition, this.#runtime);
    });
  }

  /**
   * A running network whose dnsmasq died (and nothing else) gets a new one, with the leases
   * the log holds: the intent to reload is recorded first, as for `net-update`. False when
   * its dnsmasq runs (or it has none, or something else is missing).
   */
  async #restartDeadDnsmasq(actor: NetworkActor): Promise<boolean> {
    const runtime = this.#runtime;
    const dnsmasq = actor.snapshot.context.dnsmasq;
    if (runtime?.reload === undefined || dnsmasq === null) return false;
    const definition = definitionOf(actor);
    const check = runtime.check(definition, { dnsmasq });
    const dead = `dnsmasq (pid ${dnsmasq.pid}) is no longer running`;
    if (check.intact || check.problems.some((problem) => problem !== dead)) return false;
    await actor.append([{ type: "network.dnsmasq_reloading", body: { mode: "restart" } }]);
    await this.#reload(actor, definition, definition, "restart");
    return true;
  }

  /**
   * libvirt's checks before a start: a mode evirt runs, no host route on its subnets or static
   * routes (`drivers/network/route_collision.ts`); and a `bridge` network's host bridge exists.
   */
  #checkStartable(definition: NetworkDefinition): void {
    checkNetworkRunnable(definition);
    if (!hasManagedBridge(definition)) {
      // `bridge` mode: the host bridge must exist (evirt makes nothing for it).
      const bridge = definition.bridge.name ?? "";
      if (this.#runtime !== undefined && !this.#hostLinkExists(`${bridge}/bridge`)) {
        throw new VirtError(
          ErrorCode.INTERNAL_ERROR,
          `cannot start network '${definition.name}': host bridge '${bridge}' does not exist`,
          { where: "/network/bridge/@name" },
        );
      }
      return;
    }
    checkRouteCollision(definition, parseProcNetRoute(this.#routeTable()));
  }

  /**
   * Stops an active network (`net-destroy`): the intent is recorded, the network removed, and
   * it is recorded stopped (a transient one is gone). A failed removal is recorded abandoned:
   * the network stays active.
   *
   * @throws {VirtError} Code 55 when it is not active; 38 when a removal fails; 84 without a
   *   runtime.
   */
  destroy(uuid: string): Promise<void> {
    const actor = this.byUuid(uuid);
    return actor.run("destroy", async () => {
      if (!isNetworkActive(actor.snapshot)) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          `network '${nameOf(actor)}' is not active`,
        );
      }
      const runtime = this.#runtime;
      if (runtime === undefined) throw noRuntime(nameOf(actor));
      const definition = definitionOf(actor);
      const dnsmasq = actor.snapshot.context.dnsmasq;
      await actor.append([{
        type: "network.stopping",
        body: { bridge: definition.bridge.name ?? "" },
      }]);
      try {
        await runtime.stop(definition, dnsmasq === null ? {} : { dnsmasq });
      } catch (error) {
        await actor.append([{ type: "network.intent_abandoned", body: { intent: "stop" } }]);
        throw error;
      }
      await actor.append([{ type: "network.stopped", body: {} }]);
    }).then(() => {
      this.#registry.forgetIfGone(actor);
    });
  }

  /**
   * Applies one `net-update` (`virNetworkUpdate`) with libvirt's `--live`/`--config`/`--current`
   * rules: neither flag means live for a running network, config for an inactive one. The new
   * definitions are recorded first (with, for a live change dnsmasq must take, the intent to
   * reload it); then dnsmasq's files are rewritten and it is sent SIGHUP, or it is replaced,
   * as libvirt does for the section; then the reload is recorded done.
   *
   * @param flags `VIR_NETWORK_UPDATE_AFFECT_*` (checked by the caller).
   * @throws {VirtError} Code 55 `network is not running` for a live change of an inactive
   *   network, or `cannot change persistent config of a transient network`; the update's
   *   errors (`src/xml/network_update.ts`); 38 when dnsmasq cannot take it (the definitions
   *   stay updated, as in libvirt, and the reload is recorded abandoned).
   */
  update(uuid: string, update: NetworkUpdate, flags: number): Promise<void> {
    const actor = this.byUuid(uuid);
    return actor.run("update", async () => {
      const context = actor.snapshot.context;
      const active = isNetworkActive(actor.snapshot);
      let live = (flags & NETWORK_UPDATE_AFFECT_LIVE) !== 0;
      let config = (flags & NETWORK_UPDATE_AFFECT_CONFIG) !== 0;
      if (!live && !config) {
        live = active;
        config = !active;
      }
      if (live && !active) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, "network is not running");
      }
      if (config && !context.persistent) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          "cannot change persistent config of a transient network",
        );
      }
      const previous = definitionOf(actor);
      const liveDefinition = live ? applyNetworkUpdate(previous, update) : undefined;
      const configDefinition = config
        ? applyNetworkUpdate(active ? context.nextDefinition ?? previous : previous, update)
        : undefined;
      const mode = liveDefinition === undefined
        ? undefined
        : reloadModeOf(update.section, previous, liveDefinition);
      const runtime = this.#runtime;
      if (mode !== undefined && runtime?.reload === undefined) throw noRuntime(nameOf(actor));
      const facts: NetworkFact[] = [{
        type: "network.updated",
        body: {
          ...(liveDefinition === undefined ? {} : { live: liveDefinition }),
          ...(configDefinition === undefined ? {} : { config: configDefinition }),
        },
      }];
      if (mode !== undefined) facts.push({ type: "network.dnsmasq_reloading", body: { mode } });
      await actor.append(facts);
      if (mode === undefined || liveDefinition === undefined) return;
      await this.#reload(actor, previous, liveDefinition, mode);
    });
  }

  /** Makes the running network's dnsmasq take the live definition and records it. */
  async #reload(
    actor: NetworkActor,
    previous: NetworkDefinition | undefined,
    definition: NetworkDefinition,
    mode: DnsmasqReloadMode,
  ): Promise<void> {
    const reload = this.#runtime?.reload;
    if (reload === undefined) throw noRuntime(definition.name);
    const dnsmasq = actor.snapshot.context.dnsmasq;
    // What the old dnsmasq reported last is recorded first: a new one gets every lease.
    await this.#ingestNow(actor);
    let state;
    try {
      state = await reload.call(
        this.#runtime,
        previous,
        definition,
        dnsmasq === null ? {} : { dnsmasq },
        mode,
        actor.snapshot.context.leases ?? [],
      );
    } catch (error) {
      await actor.append([{ type: "network.intent_abandoned", body: { intent: "reload" } }]);
      throw error;
    }
    const replaced = state.dnsmasq !== undefined &&
      (state.dnsmasq.pid !== dnsmasq?.pid ||
        state.dnsmasq.startTimeTicks !== dnsmasq?.startTimeTicks);
    await actor.append([{
      type: "network.dnsmasq_reloaded",
      body: replaced ? { dnsmasq: state.dnsmasq } : {},
    }]);
  }

  /**
   * Sets the autostart flag (`net-autostart`).
   *
   * @throws {VirtError} Code 55 for a transient network.
   */
  setAutostart(uuid: string, autostart: boolean): Promise<void> {
    const actor = this.byUuid(uuid);
    return actor.run("autostart", async () => {
      if (!actor.snapshot.context.persistent) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          "cannot set autostart for transient network",
        );
      }
      if (actor.snapshot.context.autostart === autostart) return;
      await actor.append([{ type: "network.autostart_changed", body: { autostart } }]);
    });
  }

  /**
   * A network's XML; with {@linkcode NETWORK_XML_INACTIVE}, the definition its next start uses.
   */
  xml(uuid: string, flags: number): string {
    const actor = this.byUuid(uuid);
    const context = actor.snapshot.context;
    const inactive = (flags & NETWORK_XML_INACTIVE) !== 0;
    const definition = inactive && context.nextDefinition !== null
      ? context.nextDefinition
      : definitionOf(actor);
    return formatNetworkXml(definition, { inactive });
  }

  /**
   * The network's bridge name (`virNetworkGetBridgeName`).
   *
   * @throws {VirtError} Code 1 when it has none (a direct-mode network).
   */
  bridgeName(uuid: string): string {
    const actor = this.byUuid(uuid);
    const bridge = definitionOf(actor).bridge.name;
    if (bridge === undefined) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `network '${nameOf(actor)}' does not have a bridge name.`,
      );
    }
    return bridge;
  }

  /**
   * The bridge a guest's `<interface type='network'>` joins at start or hotplug: the running
   * network's own bridge, or the host bridge of a `bridge`-mode network.
   *
   * @throws {VirtError} Code 43 for no such network; 55 `network '…' is not active` (libvirt's
   *   port allocation); 67 for a forward mode whose guests need a device pool (macvtap, hostdev).
   *
   * @example
   * ```ts ignore
   * const bridge = networks.guestBridge("default"); // "virbr0"
   * ```
   */
  guestBridge(name: string): string {
    const actor = this.byName(name);
    if (!isNetworkActive(actor.snapshot)) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `network '${name}' is not active`);
    }
    const definition = definitionOf(actor);
    const bridge = definition.bridge.name;
    const mode = definition.forward?.mode;
    const onBridge = hasManagedBridge(definition) ||
      (mode === "bridge" && definition.forward?.interfaces.length === 0);
    if (!onBridge || bridge === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `guests of network '${name}' (forward mode '${mode}') need a device pool, which evirt does not run`,
      );
    }
    return bridge;
  }

  /**
   * Creates a port on a running network (`virNetworkPortCreateXML`): the XML is parsed,
   * allocated as libvirt allocates it (portgroup, VLAN, plug) and recorded as
   * `network.port_created`. A port that already names its plug is taken as given only with
   * `reclaim` (a guest that ran across a restart), as in libvirt.
   *
   * @throws {VirtError} libvirt's codes: 55 `network '…' is not active`, 106 for a uuid in use,
   *   1/27/67 for bad XML (see {@linkcode parseNetworkPortXml}).
   */
  createPort(uuid: string, xml: string, reclaim = false): Promise<NetworkPort> {
    const actor = this.byUuid(uuid);
    const parsed = parseNetworkPortXml(xml, { maxBytes: NETWORK_PORT_XML_MAX_BYTES });
    return actor.run("port-create", () => this.#addPort(actor, parsed, reclaim));
  }

  /**
   * Creates the port of a guest's `<interface type='network'>` on the network named `name`,
   * as libvirt's QEMU driver does at start (virNetworkPortCreateXML of the port it builds from
   * the interface); durable when it resolves. With `reclaim`, a port that names its plug is
   * recorded again as given (a guest that ran on while the network's ports were lost).
   *
   * @throws {VirtError} As {@linkcode createPort}; code 43 for no such network.
   */
  createGuestPort(name: string, port: NetworkPort, reclaim = false): Promise<NetworkPort> {
    const actor = this.byName(name);
    return actor.run("port-create", () => this.#addPort(actor, port, reclaim));
  }

  /** {@linkcode createPort}'s work, within a job of the network's actor. */
  async #addPort(actor: NetworkActor, given: NetworkPort, reclaim: boolean): Promise<NetworkPort> {
    if (reclaim && given.plug === undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "Port reclaim requested but plug type is none",
      );
    }
    if (!reclaim && given.plug !== undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "Port reclaim not requested but plug type is not none",
      );
    }
    if (!isNetworkActive(actor.snapshot)) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `network '${nameOf(actor)}' is not active`,
      );
    }
    const port = reclaim ? given : allocateNetworkPort(definitionOf(actor), given);
    const ports = actor.snapshot.context.ports ?? [];
    if (ports.some((each) => each.uuid === port.uuid)) {
      throw new VirtError(
        ErrorCode.NETWORK_PORT_EXIST,
        `Network port with UUID ${port.uuid} already exists`,
      );
    }
    if (ports.length >= NETWORK_PORTS_MAX) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `network '${nameOf(actor)}' has too many ports (${NETWORK_PORTS_MAX})`,
      );
    }
    await actor.append([{ type: "network.port_created", body: { port } }]);
    return port;
  }

  /**
   * Every port of every running network, with its network's name (for reconciling guests'
   * ports with the guests that run).
   */
  allPorts(): { network: string; port: NetworkPort }[] {
    return this.actors().filter((actor) => isNetworkActive(actor.snapshot)).flatMap((actor) =>
      (actor.snapshot.context.ports ?? []).map((port) => ({ network: nameOf(actor), port }))
    );
  }

  /**
   * Deletes ports by network name and port uuid (a guest's, once it stopped); a port or
   * network that is gone already is skipped.
   */
  async releasePorts(ports: readonly { network: string; portid: string }[]): Promise<void> {
    for (const { network, portid } of ports) {
      const actor = this.#registry.actors().find((each) => nameOf(each) === network);
      if (actor === undefined) continue;
      await actor.run("port-delete", async () => {
        const held = actor.snapshot.context.ports ?? [];
        if (!isNetworkActive(actor.snapshot) || !held.some((port) => port.uuid === portid)) return;
        await actor.append([{ type: "network.port_deleted", body: { uuid: portid } }]);
      });
    }
  }

  /**
   * The ports of a running network, in creation order (`virNetworkListAllPorts`).
   *
   * @throws {VirtError} Code 55 `network '…' is not active`.
   */
  ports(uuid: string): NetworkPort[] {
    const actor = this.byUuid(uuid);
    if (!isNetworkActive(actor.snapshot)) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `network '${nameOf(actor)}' is not active`);
    }
    return [...(actor.snapshot.context.ports ?? [])];
  }

  /**
   * One port of a network, by its uuid (`virNetworkPortLookupByUUID`).
   *
   * @throws {VirtError} Code 107 for no such port (an inactive network has none).
   */
  port(uuid: string, portUuid: string): NetworkPort {
    const actor = this.byUuid(uuid);
    const port = (actor.snapshot.context.ports ?? []).find((each) => each.uuid === portUuid);
    if (port === undefined || !isNetworkActive(actor.snapshot)) {
      throw new VirtError(
        ErrorCode.NO_NETWORK_PORT,
        `Network port with UUID ${portUuid} does not exist`,
      );
    }
    return port;
  }

  /**
   * Replaces a port's bandwidth (`virNetworkPortSetParameters`), recorded as
   * `network.port_updated`; `undefined` removes it.
   *
   * @throws {VirtError} Code 107 for no such port; a `floor` as {@linkcode checkFloor} refuses.
   */
  setPortBandwidth(uuid: string, portUuid: string, bandwidth: Bandwidth | undefined) {
    const actor = this.byUuid(uuid);
    return actor.run("port-update", async () => {
      const { bandwidth: _old, ...rest } = this.port(uuid, portUuid);
      const port: NetworkPort = bandwidth === undefined ? rest : { ...rest, bandwidth };
      checkFloor(definitionOf(actor), port);
      await actor.append([{ type: "network.port_updated", body: { port } }]);
      return port;
    });
  }

  /** A port's XML (`virNetworkPortGetXMLDesc`); see {@linkcode Networks.port}. */
  portXml(uuid: string, portUuid: string): string {
    return formatNetworkPortXml(this.port(uuid, portUuid));
  }

  /**
   * Releases a port (`virNetworkPortDelete`), recorded as `network.port_deleted`.
   *
   * @throws {VirtError} Code 107 for no such port.
   */
  deletePort(uuid: string, portUuid: string): Promise<void> {
    const actor = this.byUuid(uuid);
    return actor.run("port-delete", async () => {
      this.port(uuid, portUuid);
      await actor.append([{ type: "network.port_deleted", body: { uuid: portUuid } }]);
    });
  }

  #checkedDefinition(xml: string): NetworkDefinition {
    const parsed = parseNetworkXml(xml, { maxBytes: NETWORK_XML_MAX_BYTES });
    const otherNetworks = this.actors().flatMap((actor) => {
      const { definition, nextDefinition } = actor.snapshot.context;
      return [definition, nextDefinition].flatMap((each) =>
        each === null ? [] : [{
          name: each.name,
          ...(each.bridge.name === undefined ? {} : { bridge: each.bridge.name }),
        }]
      );
    });
    const definition = completeNetworkDefinition(parsed, {
      otherNetworks,
      hostLinkExists: this.#hostLinkExists,
    });
    for (const actor of this.actors()) {
      const other = definitionOf(actor);
      if (other.uuid === definition.uuid && other.name !== definition.name) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `network '${other.name}' is already defined with uuid ${other.uuid}`,
        );
      }
      if (other.name === definition.name && other.uuid !== definition.uuid) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `network '${other.name}' already exists with uuid ${other.uuid}`,
        );
      }
    }
    if (
      this.actors().length >= NETWORKS_MAX && this.#registry.existing(definition.uuid) === undefined
    ) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, `too many networks (${NETWORKS_MAX})`);
    }
    return definition;
  }

  /**
   * Records what the network's dnsmasq reported since the last reading (its lease script's new
   * complete lines) as one `network.leases_changed` fact. Nothing for a network that is not
   * running or has no lease script output.
   */
  ingestLeases(uuid: string): Promise<void> {
    const actor = this.byUuid(uuid);
    const path = this.#runtime?.leaseEventsPath?.(nameOf(actor));
    if (path === undefined || !isNetworkActive(actor.snapshot)) return Promise.resolve();
    return actor.run("leases", () => this.#ingestNow(actor));
  }

  /** {@linkcode ingestLeases}'s work, within a job of the network's actor. */
  async #ingestNow(actor: NetworkActor): Promise<void> {
    const path = this.#runtime?.leaseEventsPath?.(nameOf(actor));
    if (path === undefined || !isNetworkActive(actor.snapshot)) return;
    const offset = actor.snapshot.context.leaseOffset ?? 0;
    const text = readFrom(path, offset, LEASE_EVENTS_READ_MAX_BYTES);
    if (text === undefined) return;
    const { events, consumedBytes } = parseLeaseEvents(text);
    if (consumedBytes === 0) return;
    await actor.append([{
      type: "network.leases_changed",
      body: { events, offset: offset + consumedBytes },
    }]);
  }

  /**
   * The leases of a running network that have not expired, the newest reports read first
   * (`virNetworkGetDHCPLeases`); with `mac`, that MAC address's only (compared without case).
   *
   * @throws {VirtError} Code 43 for no such network.
   */
  async leases(uuid: string, mac?: string): Promise<NetworkLeaseView[]> {
    const actor = this.byUuid(uuid);
    // As libvirt, whose lease file goes with the network: an inactive one has none.
    if (!isNetworkActive(actor.snapshot)) return [];
    await this.ingestLeases(uuid);
    const definition = definitionOf(actor);
    const nowSeconds = Math.floor(this.#now() / 1000);
    const wanted = mac?.toLowerCase();
    return (actor.snapshot.context.leases ?? [])
      .filter((lease) => lease.expirySeconds === 0 || lease.expirySeconds > nowSeconds)
      .filter((lease) => wanted === undefined || lease.mac === wanted)
      .map((lease) => leaseView(definition, lease));
  }

  /** Reads every running network's lease changes into the log, every `intervalMs`. */
  #pollLeases(intervalMs: number, log: (message: string) => void): void {
    const timer = setInterval(() => {
      for (const actor of this.actors()) {
        if (!isNetworkActive(actor.snapshot)) continue;
        this.ingestLeases(actor.uuid).catch((error) =>
          log(`network ${nameOf(actor)}: cannot record its leases: ${(error as Error).message}`)
        );
      }
    }, intervalMs);
    Deno.unrefTimer(timer);
    this.#leaseTimer = timer;
  }

  /** Waits for running jobs (at service close). */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.#leaseTimer !== undefined) clearInterval(this.#leaseTimer);
    this.#leaseTimer = undefined;
    await Promise.all(this.actors().map((actor) => actor.idle(timeoutMs)));
  }
}

/** Whether `ip` hands out addresses over DHCPv4 (libvirt's "listening for dhcp"). */
function dhcpActive(definition: NetworkDefinition): boolean {
  return definition.ips.some((ip) =>
    !ip.address.includes(":") &&
    ((ip.dhcp?.ranges.length ?? 0) > 0 || (ip.dhcp?.hosts.length ?? 0) > 0)
  );
}

/**
 * How dnsmasq takes a live update of `section` (libvirt's networkUpdate): sections on its
 * command line or in its configuration file restart it; DHCP hosts refresh it (restart when
 * DHCP is switched on or off); DNS hosts refresh it; other sections leave it alone.
 */
function reloadModeOf(
  section: number,
  previous: NetworkDefinition,
  next: NetworkDefinition,
): DnsmasqReloadMode | undefined {
  const sections = NETWORK_UPDATE_SECTIONS;
  switch (section) {
    case sections["ip-dhcp-range"]:
    case sections["dns-txt"]:
    case sections["dns-srv"]:
      return "restart";
    case sections["ip-dhcp-host"]:
      return dhcpActive(previous) === dhcpActive(next) ? "refresh" : "restart";
    case sections["dns-host"]:
    case sections["forward-interface"]:
      // A forward interface changes no dnsmasq file, but may change the firewall rules, which
      // the reload replaces.
      return "refresh";
    default:
      return undefined;
  }
}

/** The refusal of a start where the service has no network runtime. */
function noRuntime(name: string): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_UNSUPPORTED,
    `cannot start network '${name}': this service has no network runtime (bridge, dnsmasq, firewall rules)`,
  );
}

/** Up to `maxBytes` of a file from `offset`; undefined when it cannot be read. */
function readFrom(path: string, offset: number, maxBytes: number): string | undefined {
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true });
    file.seekSync(offset, Deno.SeekMode.Start);
    const buffer = new Uint8Array(maxBytes);
    let filled = 0;
    while (filled < maxBytes) {
      const read = file.readSync(buffer.subarray(filled));
      if (read === null || read === 0) break;
      filled += read;
    }
    return new TextDecoder().decode(buffer.subarray(0, filled));
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}

/** A lease with its prefix (the network's IP element holding the address) and bridge. */
function leaseView(definition: NetworkDefinition, lease: NetworkLease): NetworkLeaseView {
  const ipv6 = lease.ip.includes(":");
  const family = ipv6 ? "ipv6" : "ipv4";
  const address = parseIp(lease.ip);
  let prefix = ipv6 ? 64 : 24;
  for (const ip of definition.ips) {
    const network = parseIp(ip.address);
    if (network === undefined || address === undefined || network.family !== address.family) {
      continue;
    }
    const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
    const bits = effectivePrefix(network, netmask, ip.prefix);
    if (bits !== undefined && inNetwork(address, network, bits)) {
      prefix = bits;
      break;
    }
  }
  return {
    iface: definition.bridge.name ?? "",
    expiryTime: lease.expirySeconds,
    type: family,
    mac: lease.mac,
    ...(lease.iaid === undefined ? {} : { iaid: lease.iaid }),
    ipaddr: lease.ip,
    prefix,
    ...(lease.hostname === undefined ? {} : { hostname: lease.hostname }),
    ...(lease.clientId === undefined ? {} : { clientid: lease.clientId }),
  };
}

/** A network's definition in force (every existing network has one). */
export function definitionOf(actor: NetworkActor): NetworkDefinition {
  const definition = actor.snapshot.context.definition;
  if (definition === null) throw new Error(`Network ${actor.uuid} has no definition`);
  return definition;
}

function nameOf(actor: NetworkActor): string {
  return definitionOf(actor).name;
}

function summaryOf(actor: NetworkActor): NetworkSummary {
  const definition = definitionOf(actor);
  const context = actor.snapshot.context;
  return {
    uuid: actor.uuid,
    name: definition.name,
    active: isNetworkActive(actor.snapshot),
    persistent: context.persistent,
    autostart: context.autostart,
    ...(definition.bridge.name === undefined ? {} : { bridge: definition.bridge.name }),
  };
}
