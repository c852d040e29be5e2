/**
 * A virtual network's life as an XState v5 machine: libvirt's network states (inactive,
 * active), persistent or transient, autostart, the definition in force and the one recorded
 * for its next start, and its pending intent, folded from the network's facts.
 *
 * The machine is pure and its events are the facts of the log: the same `transition()` folds the
 * log at recovery and applies each new fact live, so replay equals the live fold.
 *
 * @module
 */

import { assign, initialTransition, setup } from "xstate";
import { factBodyReader, factFold } from "./fact_fold.ts";
import { applyLeaseEvents, type NetworkLease } from "../src/model/network_leases.ts";
import type { NetworkDefinition } from "../src/model/network.ts";
import type { NetworkPort } from "../src/model/network_port.ts";
import type {
  DnsmasqReloadMode,
  NetworkFact,
  NetworkFactBodies,
  NetworkIntentKind,
} from "../src/model/network_facts.ts";

/** What the machine knows about one network. Plain JSON. */
export interface NetworkContext {
  /** The network's uuid, fixed for its life. */
  uuid: string;
  /** Its definition; null before it is defined. */
  definition: NetworkDefinition | null;
  /** A definition recorded while the network ran, in force once it stops (libvirt's newDef). */
  nextDefinition: NetworkDefinition | null;
  /** Whether it has a persistent definition (false: made by `net-create`, or undefined live). */
  persistent: boolean;
  /** Whether it starts with the service. */
  autostart: boolean;
  /** What was about to happen when last recorded; null when nothing is pending. */
  intent: { kind: NetworkIntentKind; bridge: string; mode?: DnsmasqReloadMode } | null;
  /** The running network's dnsmasq (pid and start time), where it has one. */
  dnsmasq: { pid: number; startTimeTicks: number } | null;
  /** The running network's DHCP leases (absent in snapshots recorded before leases). */
  leases?: NetworkLease[];
  /** Where reading the lease script's output continues, in bytes. */
  leaseOffset?: number;
  /** The running network's ports, in creation order (absent in snapshots from before ports). */
  ports?: NetworkPort[];
}

const bodyOf = factBodyReader<NetworkFactBodies>();

/**
 * The network machine. Input: the network's uuid.
 *
 * @example
 * ```ts ignore
 * let [snapshot] = initialTransition(networkMachine, { uuid });
 * [snapshot] = transition(networkMachine, snapshot, { type: "network.defined", body: { definition, detail: "added", persistent: true } });
 * ```
 */
export const networkMachine = setup({
  types: {
    context: {} as NetworkContext,
    events: {} as NetworkFact,
    input: {} as { uuid: string },
  },
  guards: {
    transient: ({ context }) => !context.persistent,
  },
  actions: {
    recordDefinition: assign(({ event }) => ({
      definition: bodyOf(event, "network.defined").definition,
      persistent: bodyOf(event, "network.defined").persistent,
      nextDefinition: null,
    })),
    recordNextDefinition: assign(({ event, context }) => ({
      nextDefinition: bodyOf(event, "network.defined").definition,
      persistent: context.persistent || bodyOf(event, "network.defined").persistent,
    })),
    forget: assign({
      definition: null,
      nextDefinition: null,
      autostart: false,
      intent: null,
      dnsmasq: null,
      leases: [],
      leaseOffset: 0,
      ports: [],
    }),
    makeTransient: assign({ persistent: false, nextDefinition: null, autostart: false }),
    recordStarting: assign(({ event }) => ({
      intent: { kind: "start" as const, bridge: bodyOf(event, "network.starting").bridge },
    })),
    recordStopping: assign(({ event }) => ({
      intent: { kind: "stop" as const, bridge: bodyOf(event, "network.stopping").bridge },
    })),
    forgetIntent: assign({ intent: null }),
    recordStarted: assign(({ event }) => ({
      intent: null,
      dnsmasq: bodyOf(event, "network.started").dnsmasq ?? null,
      // A new dnsmasq: no lease yet, its script's output read from the start.
      leases: [],
      leaseOffset: 0,
      ports: [],
    })),
    recordStopped: assign(({ context }) => ({
      definition: context.nextDefinition ?? context.definition,
      nextDefinition: null,
      intent: null,
      dnsmasq: null,
      leases: [],
      leaseOffset: 0,
      ports: [],
    })),
    recordLeases: assign(({ event, context }) => ({
      leases: applyLeaseEvents(
        context.leases ?? [],
        bodyOf(event, "network.leases_changed").events,
      ),
      leaseOffset: bodyOf(event, "network.leases_changed").offset,
    })),
    recordInactiveUpdate: assign(({ event, context }) => ({
      definition: bodyOf(event, "network.updated").config ?? context.definition,
    })),
    recordActiveUpdate: assign(({ event, context }) => {
      const { live, config } = bodyOf(event, "network.updated");
      // A persistent network's next start keeps its definition from before a live-only update.
      const keep = context.persistent && live !== undefined
        ? context.nextDefinition ?? context.definition
        : context.nextDefinition;
      return {
        definition: live ?? context.definition,
        nextDefinition: config ?? keep,
      };
    }),
    recordReloading: assign(({ event, context }) => ({
      intent: {
        kind: "reload" as const,
        bridge: context.definition?.bridge.name ?? "",
        mode: bodyOf(event, "network.dnsmasq_reloading").mode,
      },
    })),
    recordReloaded: assign(({ event }) => {
      const dnsmasq = bodyOf(event, "network.dnsmasq_reloaded").dnsmasq;
      if (dnsmasq === undefined) return { intent: null };
      // A new dnsmasq, handed the leases: its script's output read from the start.
      return { intent: null, dnsmasq, leaseOffset: 0 };
    }),
    recordPortCreated: assign(({ event, context }) => ({
      ports: [...(context.ports ?? []), bodyOf(event, "network.port_created").port],
    })),
    recordPortUpdated: assign(({ event, context }) => {
      const updated = bodyOf(event, "network.port_updated").port;
      return {
        ports: (context.ports ?? []).map((port) => port.uuid === updated.uuid ? updated : port),
      };
    }),
    recordPortDeleted: assign(({ event, context }) => ({
      ports: (context.ports ?? []).filter((port) =>
        port.uuid !== bodyOf(event, "network.port_deleted").uuid
      ),
    })),
    recordAutostart: assign(({ event }) => ({
      autostart: bodyOf(event, "network.autostart_changed").autostart,
    })),
  },
}).createMachine({
  id: "network",
  context: ({ input }) => ({
    uuid: input.uuid,
    definition: null,
    nextDefinition: null,
    persistent: false,
    autostart: false,
    intent: null,
    dnsmasq: null,
  }),
  initial: "nonexistent",
  states: {
    nonexistent: {
      on: { "network.defined": { target: "inactive", actions: "recordDefinition" } },
    },
    inactive: {
      on: {
        "network.defined": { actions: "recordDefinition" },
        "network.undefined": { target: "nonexistent", actions: "forget" },
        "network.updated": { actions: "recordInactiveUpdate" },
        "network.starting": { actions: "recordStarting" },
        "network.started": { target: "active", actions: "recordStarted" },
        "network.autostart_changed": { actions: "recordAutostart" },
        "network.intent_abandoned": { actions: "forgetIntent" },
      },
    },
    active: {
      on: {
        "network.defined": { actions: "recordNextDefinition" },
        "network.undefined": { actions: "makeTransient" },
        "network.updated": { actions: "recordActiveUpdate" },
        "network.dnsmasq_reloading": { actions: "recordReloading" },
        "network.dnsmasq_reloaded": { actions: "recordReloaded" },
        "network.stopping": { actions: "recordStopping" },
        "network.stopped": [
          { guard: "transient", target: "nonexistent", actions: "forget" },
          { target: "inactive", actions: "recordStopped" },
        ],
        "network.autostart_changed": { actions: "recordAutostart" },
        "network.intent_abandoned": { actions: "forgetIntent" },
        "network.leases_changed": { actions: "recordLeases" },
        "network.port_created": { actions: "recordPortCreated" },
        "network.port_updated": { actions: "recordPortUpdated" },
        "network.port_deleted": { actions: "recordPortDeleted" },
      },
    },
  },
});

/** A network's machine snapshot. */
export type NetworkSnapshot = ReturnType<typeof networkMachine.getInitialSnapshot>;

/** The machine's state name (`nonexistent`, `inactive`, `active`). */
export function networkStateName(snapshot: NetworkSnapshot): string {
  return snapshot.value as string;
}

/** Whether the network is active. */
export function isNetworkActive(snapshot: NetworkSnapshot): boolean {
  return networkStateName(snapshot) === "active";
}

/** A fresh snapshot of a network that does not exist yet. */
export function newNetworkSnapshot(uuid: string): NetworkSnapshot {
  const [snapshot] = initialTransition(networkMachine, { uuid });
  return snapshot;
}

const networkFold = factFold<NetworkSnapshot, NetworkFact>(
  networkMachine,
  "network",
  networkStateName,
);

/** Whether the machine has a transition for `fact` now. */
export const networkAccepts: (snapshot: NetworkSnapshot, fact: NetworkFact) => boolean =
  networkFold.accepts;

/**
 * Applies one fact with XState's pure `transition()`.
 *
 * @throws {Error} When the fact does not apply in the current state (a programming error).
 */
export const applyNetworkFact: (snapshot: NetworkSnapshot, fact: NetworkFact) => NetworkSnapshot =
  networkFold.apply;
