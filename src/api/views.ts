/**
 * The JSON shapes the API answers with, shared by the server and the typed client. Each mirrors a
 * libvirt call's result, with libvirt's numbers and virsh's names side by side.
 *
 * @module
 */

import type { DomainInfo, DomainSummary } from "../../actors/host.ts";
import type { NodeInfo } from "../../actors/driver_protocol.ts";
import { type LibvirtEvent } from "../model/facts.ts";
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

/** The result of a define (`virDomainDefineXML`). */
export interface DefineView {
  uuid: string;
  name: string;
  /** `added` for a new domain, `updated` for a redefinition. */
  detail: "added" | "updated";
}

/** One message of the event stream: one fact of the log. */
export interface EventMessage {
  /** The fact's global position: resume after it with `since` or `Last-Event-ID`. */
  position: number;
  /** When the fact was recorded, ISO 8601. */
  time: string;
  /** The domain the fact is about. */
  domain: { uuid: string; name: string };
  /** The fact's type in the log, e.g. `domain.started`. */
  fact: string;
  /** The libvirt event id, or null for facts libvirt has no event for (e.g. `domain.launched`). */
  eventId: number | null;
  /** virsh's name of the event id (`lifecycle`, `reboot`, …), or null. */
  event: string | null;
  /** For lifecycle events: type and detail, numbers and names. */
  lifecycle?: LibvirtEvent["lifecycle"];
  /** Event-specific data (`actual` for balloon-change, …). */
  data?: Record<string, string | number>;
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
