/**
 * The facts of a virtual network's life, as stored in the event log: one stream per network
 * (`network/<uuid>`), so one network's history folds in order.
 *
 * Facts say what happened. Anything that will change the host (a bridge made, dnsmasq spawned,
 * firewall rules loaded, and their removal) is preceded by an intent naming what will exist,
 * so a crash at any instant leaves a log recovery can finish or undo from.
 *
 * @module
 */

import type { NetworkDefinition } from "./network.ts";
import type { LeaseEvent } from "./network_leases.ts";
import type { NetworkPort } from "./network_port.ts";

/** The stream of the network with `uuid`. */
export function networkStream(uuid: string): string {
  return `network/${uuid}`;
}

/** The uuid of a network stream, or undefined for another stream. */
export function uuidOfNetworkStream(stream: string): string | undefined {
  return stream.startsWith("network/") ? stream.slice("network/".length) : undefined;
}

/** The kinds of intent a network may have pending. */
export type NetworkIntentKind = "start" | "stop" | "reload";

/**
 * How a running network's dnsmasq takes an update: `refresh` rewrites its hosts files and
 * sends SIGHUP; `restart` replaces it (its command line or configuration file changed).
 */
export type DnsmasqReloadMode = "refresh" | "restart";

/** The body of each network fact type. */
export interface NetworkFactBodies {
  /**
   * A network definition was added or replaced. `persistent` is false for a network created
   * from XML without a definition (`net-create`): it is forgotten when it stops. Redefining a
   * running network records the definition its next start uses.
   */
  "network.defined": {
    definition: NetworkDefinition;
    detail: "added" | "updated";
    persistent: boolean;
  };
  /**
   * The persistent definition was removed: an inactive network is gone, a running one runs on
   * as a transient network.
   */
  "network.undefined": Record<string, never>;
  /** Intent: the network's bridge is about to be made and its services started. */
  "network.starting": { bridge: string };
  /** The network runs; `dnsmasq` identifies its dnsmasq (pid and start time, clock ticks). */
  "network.started": { dnsmasq?: { pid: number; startTimeTicks: number } };
  /** Intent: the network's services and bridge are about to be removed. */
  "network.stopping": { bridge: string };
  /** The network is stopped (a transient one is gone). */
  "network.stopped": Record<string, never>;
  /**
   * `net-update` changed the definition in force (`live`, on a running network) and/or the
   * persistent one (`config`: of an inactive network, or the one a running network's next
   * start uses).
   */
  "network.updated": { live?: NetworkDefinition; config?: NetworkDefinition };
  /**
   * Intent: the running network's dnsmasq is about to take the live definition (its files
   * rewritten, then SIGHUP or a new dnsmasq).
   */
  "network.dnsmasq_reloading": { mode: DnsmasqReloadMode };
  /** dnsmasq took the live definition; `dnsmasq` is the new one where it was replaced. */
  "network.dnsmasq_reloaded": { dnsmasq?: { pid: number; startTimeTicks: number } };
  /** Autostart was switched on or off. */
  "network.autostart_changed": { autostart: boolean };
  /**
   * dnsmasq granted, renewed or released leases (its lease script's events, in order);
   * `offset` is where the service's reading of the script's output continues.
   */
  "network.leases_changed": { events: LeaseEvent[]; offset: number };
  /** The pending intent ended without its action taking effect (or was undone). */
  "network.intent_abandoned": { intent: NetworkIntentKind };
  /**
   * A port was allocated on the running network (`virNetworkPortCreateXML`), as it will be
   * shown. Allocation changes nothing on the host (the guest's driver makes and plugs the tap),
   * so no intent precedes it. Ports end with the network.
   */
  "network.port_created": { port: NetworkPort };
  /**
   * A port's bandwidth was replaced (`virNetworkPortSetParameters`); `port` is the port as it
   * now is. Nothing on the host changes (the guest's driver shapes its tap).
   */
  "network.port_updated": { port: NetworkPort };
  /** The port with `uuid` was released (`virNetworkPortDelete`). */
  "network.port_deleted": { uuid: string };
}

/** Every network fact type. */
export type NetworkFactType = keyof NetworkFactBodies;

/** A network fact: its type and body. */
export type NetworkFact = {
  [T in NetworkFactType]: { type: T; body: NetworkFactBodies[T] };
}[NetworkFactType];

/** What each fact records (see `facts.ts`): a decision, an intent, or a happening. */
export const NETWORK_FACT_KINDS: Readonly<
  Record<NetworkFactType, "decision" | "intent" | "happening">
> = {
  "network.defined": "decision",
  "network.undefined": "decision",
  "network.starting": "intent",
  "network.started": "happening",
  "network.stopping": "intent",
  "network.stopped": "happening",
  "network.updated": "decision",
  "network.dnsmasq_reloading": "intent",
  "network.dnsmasq_reloaded": "happening",
  "network.autostart_changed": "decision",
  "network.leases_changed": "happening",
  "network.intent_abandoned": "intent",
  "network.port_created": "decision",
  "network.port_updated": "decision",
  "network.port_deleted": "decision",
};

/** Every network fact type, for validation of facts read from the log. */
export const NETWORK_FACT_TYPES: readonly NetworkFactType[] = Object.keys(
  NETWORK_FACT_KINDS,
) as NetworkFactType[];

/** Whether `type` is a network fact type. */
export function isNetworkFactType(type: string): type is NetworkFactType {
  return (NETWORK_FACT_TYPES as readonly string[]).includes(type);
}
