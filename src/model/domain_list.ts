/**
 * A domain as lists show it, libvirt's list filters (`virConnectListAllDomains` flags) and the
 * order virsh lists domains in. Shared by the host, the API, the client and the projections, so
 * it lives with the model and imports only the state numbers.
 *
 * @module
 */

import { DomainState, type DomainStateValue } from "./lifecycle.ts";

/** One domain as lists show it. */
export interface DomainSummary {
  uuid: string;
  name: string;
  /** The running instance's id; null when inactive. */
  id: number | null;
  state: DomainStateValue;
  reason: number;
  persistent: boolean;
  autostart: boolean;
  active: boolean;
  /** Whether it has a managed save image (absent: no). */
  managedSave?: boolean;
  /** Facts of what the hypervisor did that the log has refused so far; null when none. */
  pendingFacts: HeldFactsSummary | null;
}

/** What the API shows of a domain's held facts. */
export interface HeldFactsSummary {
  /** How many facts wait to be written. */
  facts: number;
  /** Why the log refuses them, e.g. `no space left on device`. */
  cause: string;
  /** When the first of them was refused, ms since the epoch. */
  sinceMs: number;
  /**
   * Whether the domain is brought in line with its hypervisor once they are written: always,
   * since the job that produced them stopped at the refused write (an interrupted start is then
   * ended, a guest's shutdown or crash policy applied; see held_facts_followup.ts).
   */
  needsReconcile: boolean;
  /**
   * Observations dropped because the bound was reached: the state returns to what the log says
   * once the held facts are written, and the next reconcile (at start-up) records the rest.
   */
  dropped: number;
}

/** What `dominfo` shows. */
export interface DomainInfo extends DomainSummary {
  /** The domain's hypervisor type, e.g. `qemu`. */
  type: string;
  maxMemoryKiB: number;
  memoryKiB: number;
  vcpus: number;
  cpuTimeNs: number;
  /** The guest OS type, when the driver names its own (else the definition's). */
  osType?: string;
  /** The security model and label, when the driver has one. */
  security?: SecurityDescription;
}

/** A security model and label, as `virsh dominfo` shows them. */
export interface SecurityDescription {
  /** The model, e.g. `selinux`. */
  model: string;
  /** Its domain of interpretation (may be empty). */
  doi: string;
  /** The domain's label, with `(enforcing)` or `(permissive)`; absent when it has none. */
  label?: string;
}

/** libvirt's list filters (virConnectListAllDomains flags). */
export interface ListFilter {
  active?: boolean;
  inactive?: boolean;
  persistent?: boolean;
  transient?: boolean;
  running?: boolean;
  paused?: boolean;
  shutoff?: boolean;
  other?: boolean;
  autostart?: boolean;
  noAutostart?: boolean;
  /** With a managed save image (`VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE`). */
  managedSave?: boolean;
  /** Without one (`VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE`). */
  noManagedSave?: boolean;
}

/** Every filter of {@linkcode ListFilter}, in libvirt's flag order. */
export const LIST_FILTER_NAMES: readonly (keyof ListFilter)[] = [
  "active",
  "inactive",
  "persistent",
  "transient",
  "running",
  "paused",
  "shutoff",
  "other",
  "managedSave",
  "noManagedSave",
  "autostart",
  "noAutostart",
];

/**
 * Whether a domain passes libvirt's list filters: within each pair (active/inactive,
 * persistent/transient, autostart/noAutostart) and within the state group, the set flags are
 * alternatives; the groups must all hold. No flag in a group means no condition.
 *
 * @example
 * ```ts
 * import { matchesListFilter } from "./domain_list.ts";
 * const summary = { uuid: "u", name: "web", id: 1, state: 1, reason: 1, persistent: true,
 *   autostart: false, active: true } as const;
 * console.log(matchesListFilter(summary, { inactive: true })); // false
 * ```
 */
export function matchesListFilter(summary: DomainSummary, filter: ListFilter): boolean {
  const pairs: [boolean | undefined, boolean | undefined, boolean][] = [
    [filter.active, filter.inactive, summary.active],
    [filter.persistent, filter.transient, summary.persistent],
    [filter.autostart, filter.noAutostart, summary.autostart],
    [filter.managedSave, filter.noManagedSave, summary.managedSave === true],
  ];
  for (const [yes, no, value] of pairs) {
    if ((yes || no) && !((yes && value) || (no && !value))) return false;
  }
  const wantsState = filter.running || filter.paused || filter.shutoff || filter.other;
  if (!wantsState) return true;
  const state = summary.state;
  const other = state !== DomainState.RUNNING && state !== DomainState.PAUSED &&
    state !== DomainState.SHUTOFF;
  return Boolean(
    (filter.running && state === DomainState.RUNNING) ||
      (filter.paused && state === DomainState.PAUSED) ||
      (filter.shutoff && state === DomainState.SHUTOFF) ||
      (filter.other && other),
  );
}

/**
 * virsh's list order: active domains by id, then inactive ones by name.
 *
 * @example
 * ```ts ignore
 * summaries.sort(compareForList);
 * ```
 */
export function compareForList(a: DomainSummary, b: DomainSummary): number {
  if (a.id !== null && b.id !== null) return a.id - b.id;
  if (a.id !== null) return -1;
  if (b.id !== null) return 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * A uuid in libvirt's canonical form (lower case, dashed), or undefined when not a uuid.
 *
 * @example
 * ```ts
 * import { normalizeUuid } from "./domain_list.ts";
 * console.log(normalizeUuid("6695EB01F6A44304AAA97EEA4DF0D8B0"));
 * // "6695eb01-f6a4-4304-aaa9-7eea4df0d8b0"
 * ```
 */
export function normalizeUuid(text: string): string | undefined {
  const compact = text.trim().replaceAll("-", "").toLowerCase();
  if (!UUID_PATTERN.test(text.trim()) || compact.length !== 32) return undefined;
  return `${compact.slice(0, 8)}-${compact.slice(8, 12)}-${compact.slice(12, 16)}-${
    compact.slice(16, 20)
  }-${compact.slice(20)}`;
}
