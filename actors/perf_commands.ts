/**
 * `virDomainSetPerfEvents` (`virsh perf --enable/--disable`) as a job of the domain's actor.
 * libvirt's order: the flags, the settings (sorted-name walk of `virTypedParamsValidate`), the
 * definitions the flags pick; then the running instance event by event (its QEMU driver opens
 * or closes the host counters; its test driver only records), then the persistent definition.
 * As libvirt, an event the host refuses stops the walk: the events switched before it stay
 * switched (recorded with `domain.live_changed`), the persistent definition is left alone.
 *
 * @module
 */

import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  checkResourceFlags,
  resolveScope,
} from "../src/model/domain_resources.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact, DomainFactBodies } from "../src/model/facts.ts";
import {
  checkPerfSettings,
  enabledPerfEvents,
  PERF_EVENT_NAMES,
  type PerfSetting,
  withPerfSettings,
} from "../src/model/perf_events.ts";
import type { JobContext } from "./domain_actor.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import { type CommandEnvironment, handleOf } from "./domain_commands.ts";
import { isActive } from "./domain_machine.ts";
import { configChanged, driverOf } from "./resource_commands.ts";

/** What `perf --enable/--disable` asks. */
export interface PerfRequest {
  /** The events to switch, in the caller's order. */
  settings: PerfSetting[];
  /** libvirt's flags: `AFFECT_LIVE`, `AFFECT_CONFIG`. */
  flags: number;
}

/**
 * Switches the perf events of the running instance and/or the persistent definition.
 *
 * @throws {VirtError} libvirt's refusals (8, 55, 74, 38): nothing recorded, or — when the host
 *   refused an event after others were switched — those others recorded.
 */
export async function setPerfEvents(
  job: JobContext,
  env: CommandEnvironment,
  request: PerfRequest,
): Promise<void> {
  const { driver, test } = driverOf(job, env);
  const { flags, settings } = request;
  checkResourceFlags(
    flags,
    AFFECT_LIVE | AFFECT_CONFIG,
    test ? "testDomainSetPerfEvents" : "qemuDomainSetPerfEvents",
  );
  checkPerfSettings(settings);
  if (test && (flags & (AFFECT_LIVE | AFFECT_CONFIG)) === (AFFECT_LIVE | AFFECT_CONFIG)) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
      { where: "flags", bare: true },
    );
  }
  const { context } = job.snapshot;
  const scope = resolveScope(flags, {
    active: isActive(job.snapshot),
    persistent: context.persistent,
  });
  const configFact = scope.config
    ? configChanged(perfOf(context.definition!, settings), "perf")
    : undefined;
  if (!scope.live) {
    await job.append([configFact!]);
    return;
  }
  const live = context.live!;
  if (test || driver.setPerfEvent === undefined) {
    // Nothing counts: the live definition is all there is to change.
    const done: DomainFact = {
      type: "domain.live_changed",
      body: { definition: perfOf(live, settings), change: "perf" },
    };
    await job.append(configFact === undefined ? [done] : [done, configFact]);
    return;
  }
  const handle = handleOf(job.snapshot);
  const intent: DomainFactBodies["domain.live_changing"] = {
    definition: perfOf(live, settings),
    change: "perf",
  };
  await job.append([{ type: "domain.live_changing", body: intent }]);
  const switched: PerfSetting[] = [];
  try {
    for (const setting of settings) {
      driver.setPerfEvent(handle, setting.name, setting.enabled);
      switched.push(setting);
    }
  } catch (error) {
    await job.append([
      switched.length === 0
        ? { type: "domain.intent_abandoned", body: { intent: "live_change" } }
        : {
          type: "domain.live_changed",
          body: { definition: perfOf(live, switched), change: "perf" },
        },
    ]);
    throw error;
  }
  const done: DomainFact = {
    type: "domain.live_changed",
    body: { definition: intent.definition, change: "perf" },
  };
  await job.append(configFact === undefined ? [done] : [done, configFact]);
}

function perfOf(definition: DomainDefinition, settings: readonly PerfSetting[]): DomainDefinition {
  return { ...definition, perf: withPerfSettings(definition.perf, settings) };
}

/** `VIR_TYPED_PARAM_STRING_OKAY`, which virsh sets on every read of typed parameters. */
const STRING_OKAY = 4;

/**
 * `virDomainGetPerfEvents`: every event libvirt knows and whether it counts, of the live
 * definition (asked, or by default while running) or the persistent one.
 *
 * @throws {VirtError} 8 for unknown flags or both `AFFECT_LIVE` and `AFFECT_CONFIG`; 55 for a
 *   live read of an inactive domain or a config read of a transient one.
 *
 * @example
 * ```ts ignore
 * perfEventsOf(host.inspect("web"), 0)[13]; // { name: "cpu_clock", enabled: true }
 * ```
 */
export function perfEventsOf(
  inspection: DomainInspection,
  flags: number,
): Array<{ name: string; enabled: boolean }> {
  checkResourceFlags(
    flags,
    AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
    inspection.driver?.name === "test" ? "testDomainGetPerfEvents" : "qemuDomainGetPerfEvents",
  );
  // libvirt's virDomainObjGetOneDefState words this check its own way (without a prefix).
  if ((flags & (AFFECT_LIVE | AFFECT_CONFIG)) === (AFFECT_LIVE | AFFECT_CONFIG)) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
      { where: "flags", bare: true },
    );
  }
  const active = inspection.summary.active;
  const scope = resolveScope(flags, {
    active,
    persistent: inspection.persistentDefinition !== null,
  });
  const definition = scope.live
    ? inspection.definition
    : inspection.persistentDefinition ?? inspection.definition;
  const enabled = new Set(enabledPerfEvents(definition.perf));
  return PERF_EVENT_NAMES.map((name) => ({ name, enabled: enabled.has(name) }));
}
