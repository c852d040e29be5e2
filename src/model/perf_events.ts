/**
 * A domain's perf events (`<perf><event name enabled/></perf>`): the host's performance counters
 * libvirt can count for the guest's process (`virsh perf`, the `perf.*` domain stats). Names,
 * their order (libvirt's `virPerfEventType`, in which the XML lists them) and libvirt's checks.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";
import { validateTypedParams } from "./typed_params.ts";

/** libvirt 9.0's perf event names, in its enum's order (the order its XML writes them). */
export const PERF_EVENT_NAMES = [
  "cmt",
  "mbmt",
  "mbml",
  "cpu_cycles",
  "instructions",
  "cache_references",
  "cache_misses",
  "branch_instructions",
  "branch_misses",
  "bus_cycles",
  "stalled_cycles_frontend",
  "stalled_cycles_backend",
  "ref_cpu_cycles",
  "cpu_clock",
  "task_clock",
  "page_faults",
  "context_switches",
  "cpu_migrations",
  "page_faults_min",
  "page_faults_maj",
  "alignment_faults",
  "emulation_faults",
] as const;

/** One `<event>` of `<perf>`. */
export interface PerfEvent {
  /** One of {@linkcode PERF_EVENT_NAMES}. */
  name: string;
  /** `yes` or `no`. */
  enabled: string;
}

/**
 * Checks a definition's perf events as libvirt's parser does: a known name, `enabled` yes or
 * no, no event twice.
 *
 * @throws {VirtError} Code 27 (XML error) at `/domain/perf/event[N]`.
 *
 * @example
 * ```ts
 * import { checkPerfEvents } from "./perf_events.ts";
 * checkPerfEvents([{ name: "cmt", enabled: "yes" }]); // no error
 * ```
 */
export function checkPerfEvents(events: readonly PerfEvent[]): void {
  const seen = new Set<string>();
  events.forEach((event, index) => {
    const where = `/domain/perf/event[${index + 1}]`;
    if (!(PERF_EVENT_NAMES as readonly string[]).includes(event.name)) {
      // libvirt's message has the stray leading quote too.
      throw new VirtError(ErrorCode.XML_ERROR, `'unsupported perf event '${event.name}'`, {
        where,
      });
    }
    if (seen.has(event.name)) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `perf event '${event.name}' was already specified`,
        { where },
      );
    }
    seen.add(event.name);
    if (event.enabled !== "yes" && event.enabled !== "no") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'enabled' in element 'event': '${event.enabled}'.`,
        { where: `${where}/@enabled` },
      );
    }
  });
}

/**
 * The events in libvirt's order (its formatter walks its enum, whatever order they came in).
 *
 * @example
 * ```ts
 * import { perfEventsInOrder } from "./perf_events.ts";
 * console.log(perfEventsInOrder([{ name: "mbmt", enabled: "no" }, { name: "cmt", enabled: "yes" }])[0].name); // "cmt"
 * ```
 */
export function perfEventsInOrder(events: readonly PerfEvent[]): PerfEvent[] {
  const rank = (name: string) => (PERF_EVENT_NAMES as readonly string[]).indexOf(name);
  return [...events].sort((a, b) => rank(a.name) - rank(b.name));
}

/** One event to switch on or off (`virDomainSetPerfEvents`' typed parameters). */
/** Every perf event is a boolean parameter. */
const PERF_TYPES: ReadonlyMap<string, string> = new Map(
  PERF_EVENT_NAMES.map((name) => [name, "boolean"]),
);

export interface PerfSetting {
  /** The event's name, one of {@linkcode PERF_EVENT_NAMES} once checked. */
  name: string;
  /** Whether to count it. */
  enabled: boolean;
  /** The parameter's libvirt type name as sent (`boolean` is the only one accepted). */
  type?: string;
}

/**
 * Checks the settings as libvirt's `virTypedParamsValidate` does: it walks them sorted by name,
 * so the first (by name) unknown, repeated or wrongly typed one is the error.
 *
 * @throws {VirtError} 74 `parameter '…' not supported`; 8 for a repeated or non-boolean one.
 *
 * @example
 * ```ts
 * import { checkPerfSettings } from "./perf_events.ts";
 * checkPerfSettings([{ name: "cpu_clock", enabled: true }]); // no error
 * ```
 */
export function checkPerfSettings(settings: readonly PerfSetting[]): void {
  validateTypedParams(settings, PERF_TYPES);
}

/**
 * `events` with `settings` applied: a set event is `yes` or `no` from then on (libvirt keeps a
 * switched-off event in the XML as `enabled='no'`).
 *
 * @example
 * ```ts
 * import { withPerfSettings } from "./perf_events.ts";
 * console.log(withPerfSettings([], [{ name: "cpu_clock", enabled: true }]));
 * // [{ name: "cpu_clock", enabled: "yes" }]
 * ```
 */
export function withPerfSettings(
  events: readonly PerfEvent[] | undefined,
  settings: readonly PerfSetting[],
): PerfEvent[] {
  const byName = new Map((events ?? []).map((event) => [event.name, event.enabled]));
  for (const setting of settings) byName.set(setting.name, setting.enabled ? "yes" : "no");
  return perfEventsInOrder([...byName].map(([name, enabled]) => ({ name, enabled })));
}

/** The names of the events `events` enables, in libvirt's order. */
export function enabledPerfEvents(events: readonly PerfEvent[] | undefined): string[] {
  return perfEventsInOrder(events ?? []).filter((event) => event.enabled === "yes").map((
    event,
  ) => event.name);
}
