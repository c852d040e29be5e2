/**
 * The JSON shapes the API answers with, shared by the server and the typed client. Each mirrors a
 * libvirt call's result, with libvirt's numbers and virsh's names side by side.
 *
 * @module
 */

import type { FleetHost } from "../log/host_registry.ts";
import type { DomainInfo, DomainSummary } from "../model/domain_list.ts";
import type { NodeInfo } from "../../actors/driver_protocol.ts";
export type { GuestsView } from "../../actors/host_guests.ts";
export type { EventMessage } from "../projections/event_message.ts";
import type { EventMessage } from "../projections/event_message.ts";
import type { SubscriberCounts } from "./metrics.ts";

/**
 * One message of the fleet event stream: the local stream's message (its `domain` and `event`
 * absent for a fact about no domain), the host whose log it is in, and its fleet id
 * (`SEQ:INDEX`, resumable from any host).
 */
export type FleetEventMessage = EventMessage & { host: string; id: string };
import { reasonName, stateName } from "../model/lifecycle.ts";

/** A domain as lists show it (`virConnectListAllDomains`). */
export interface DomainSummaryView {
  uuid: string;
  name: string;
  /** The running instance's id; null when inactive (virsh shows `-`). */
  id: number | null;
  /** virDomainState value. */
  state: number;
  /** virsh's name of the state, e.g. `shut off`. */
  stateName: string;
  /** The state's reason value. */
  reason: number;
  /** virsh's name of the reason, e.g. `booted`. */
  reasonName: string;
  persistent: boolean;
  autostart: boolean;
  active: boolean;
  /** Whether it has a managed save image, which its next start restores. */
  managedSave: boolean;
  /**
   * Facts of what the hypervisor did that the event log has refused so far (a full disk): the
   * state above already shows them; they are written, in order, once the log accepts writes,
   * and what the interrupted command left undone is then finished. Null when none.
   */
  pendingFacts: PendingFactsView | null;
}

/** Facts waiting for the event log to accept writes. */
export interface PendingFactsView {
  /** How many facts wait. */
  facts: number;
  /** Why the log refuses them, e.g. `no space left on device`. */
  cause: string;
  /** When the first was refused, ISO 8601. */
  since: string;
  /** Whether the domain is brought in line with its hypervisor once they are written. */
  needsReconcile: boolean;
  /** Observations dropped at the bound of waiting facts, until the next reconcile. */
  dropped: number;
}

/** A domain's state and reason (`virDomainGetState`). */
export interface StateView {
  state: number;
  stateName: string;
  reason: number;
  reasonName: string;
}

/** `dominfo`'s figures. */
export interface DomainInfoView extends DomainSummaryView {
  /** The hypervisor type, e.g. `qemu`. */
  type: string;
  /** The guest OS type, e.g. `hvm`. */
  osType: string;
  maxMemoryKiB: number;
  memoryKiB: number;
  vcpus: number;
  /** CPU time consumed, in ns. */
  cpuTimeNs: number;
  /** The security model and the domain's label, when the hypervisor has one. */
  security?: { model: string; doi: string; label?: string };
  title?: string;
  description?: string;
}

/** `version`: the service and its hypervisors. */
export interface VersionView {
  /** evirt's version. */
  evirt: string;
  /** The API version, `v1`. */
  api: string;
  /** One entry per driver. */
  hypervisors: { driver: string; version: string; domainTypes: string[] }[];
}

/** `hostname` and `nodeinfo`. */
export interface HostView {
  hostname: string;
  node: NodeInfo;
}

/** The log's position and the event stream's subscribers (`GET /v1/host/summary`). */
export interface HostSummaryView {
  log: { position: number; oldestPosition: number };
  subscribers: SubscriberCounts;
}

/** The hosts sharing the service's NATS log (`GET /v1/fleet/hosts`). */
export interface FleetHostsView {
  hosts: FleetHost[];
}

/** Every domain of the fleet with its owner (`GET /v1/fleet/domains`). */
export interface FleetDomainsView {
  domains: {
    uuid: string;
    name: string;
    host: string;
    active: boolean;
    sinceMs: number;
    pending?: boolean;
  }[];
}

/** The result of a move (`POST /v1/domains/:ref/migrate`). */
export interface MigratedView {
  uuid: string;
  name: string;
  host: string;
  /** A live migration's total time, from QEMU's figures, in ms. */
  totalTimeMs?: number;
  /** A live migration's downtime of the guest, from QEMU's figures, in ms. */
  downtimeMs?: number;
  /** A live migration's memory sent, in bytes. */
  memoryProcessedBytes?: number;
}

/** A running domain's live migration limits (`GET /v1/domains/:ref/migrate/limits`). */
export interface MigrateLimitsView {
  /** MiB/s. */
  bandwidth: number;
  /** ms. */
  maxDowntime: number;
}

/** The result of a define (`virDomainDefineXML`). */
export interface DefineView {
  uuid: string;
  name: string;
  /** `added` for a new domain, `updated` for a redefinition. */
  detail: "added" | "updated";
}

/** The view of a host summary. */
export function summaryView(summary: DomainSummary): DomainSummaryView {
  return {
    uuid: summary.uuid,
    name: summary.name,
    id: summary.id,
    state: summary.state,
    stateName: stateName(summary.state),
    reason: summary.reason,
    reasonName: reasonName(summary.state, summary.reason),
    persistent: summary.persistent,
    autostart: summary.autostart,
    active: summary.active,
    managedSave: summary.managedSave === true,
    pendingFacts: summary.pendingFacts === null ? null : {
      facts: summary.pendingFacts.facts,
      cause: summary.pendingFacts.cause,
      since: new Date(summary.pendingFacts.sinceMs).toISOString(),
      needsReconcile: summary.pendingFacts.needsReconcile,
      dropped: summary.pendingFacts.dropped,
    },
  };
}

/** The state view of a host summary. */
export function stateView(summary: DomainSummary): StateView {
  return {
    state: summary.state,
    stateName: stateName(summary.state),
    reason: summary.reason,
    reasonName: reasonName(summary.state, summary.reason),
  };
}

/** The info view of host info. */
export function infoView(
  info: DomainInfo,
  extra: { osType: string; title?: string; description?: string },
): DomainInfoView {
  return {
    ...summaryView(info),
    type: info.type,
    osType: info.osType ?? extra.osType,
    maxMemoryKiB: info.maxMemoryKiB,
    memoryKiB: info.memoryKiB,
    vcpus: info.vcpus,
    cpuTimeNs: info.cpuTimeNs,
    ...(info.security === undefined ? {} : { security: { ...info.security } }),
    ...(extra.title === undefined ? {} : { title: extra.title }),
    ...(extra.description === undefined ? {} : { description: extra.description }),
  };
}
