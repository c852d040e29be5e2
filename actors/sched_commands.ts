/**
 * `virDomainSetSchedulerParameters[Flags]` (`virsh schedinfo --set`) as a job of the domain's
 * actor, in libvirt 9.0's QEMU driver's order: the flags, the parameters
 * (`virTypedParamsValidate`, then each range), the definitions the flags pick; then the running
 * instance's control group, then the persistent definition.
 *
 * Intent before action: the live change is recorded (`domain.live_changing`, naming the
 * definition with the new `<cputune>`) before any control file is written, and its outcome
 * (`domain.live_changed`, with the persistent definition's `domain.config_changed` for
 * `--config`) after. A crash between the two leaves the intent, which recovery finishes by
 * writing the same values again (writing a control file twice leaves it the same; see
 * `finishInterruptedLiveChange`). The parameters are written one by one in the caller's order,
 * as libvirt's driver walks them: a write the kernel refuses abandons the intent, or, after
 * others were written, records those (libvirt keeps the changes made before the failing one).
 *
 * libvirt's test driver checks its one parameter (`weight`, an unsigned int) and keeps
 * nothing; so does evirt's test hypervisor.
 *
 * @module
 */

import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  checkResourceFlags,
  resolveScope,
} from "../src/model/domain_resources.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact } from "../src/model/facts.ts";
import { validateTypedParams } from "../src/model/typed_params.ts";
import {
  checkSchedulerSettings,
  noCgroupError,
  type SchedulerParameter,
  type SchedulerSetting,
  withSchedulerSettings,
} from "../src/model/scheduler_params.ts";
import type { JobContext } from "./domain_actor.ts";
import { type CommandEnvironment, handleOf } from "./domain_commands.ts";
import { isActive } from "./domain_machine.ts";
import { configChanged, driverOf } from "./resource_commands.ts";

/** What `schedinfo --set` asks. */
export interface SchedulerRequest {
  /** The parameters, in the caller's order. */
  settings: SchedulerSetting[];
  /** libvirt's flags: `AFFECT_LIVE`, `AFFECT_CONFIG`. */
  flags: number;
}

/**
 * Sets the scheduler parameters of the running instance and/or the persistent definition.
 *
 * @throws {VirtError} libvirt's refusals (8, 55, 67, 74, 38): nothing recorded, or — when the
 *   kernel refused a write after the shares were written — the shares recorded.
 */
export async function setSchedulerParameters(
  job: JobContext,
  env: CommandEnvironment,
  request: SchedulerRequest,
): Promise<void> {
  const { driver, test } = driverOf(job, env);
  const { flags, settings } = request;
  if (test) {
    checkResourceFlags(flags, 0, "testDomainSetSchedulerParametersFlags");
    checkTestSettings(settings);
    return;
  }
  checkResourceFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, "qemuDomainSetSchedulerParametersFlags");
  checkSchedulerSettings(settings);
  const { context } = job.snapshot;
  const scope = resolveScope(flags, {
    active: isActive(job.snapshot),
    persistent: context.persistent,
  });
  const configFact = scope.config
    ? configChanged(withSchedulerSettings(context.definition!, settings, false), "schedinfo")
    : undefined;
  if (!scope.live) {
    await job.append([configFact!]);
    return;
  }
  if (driver.setSchedulerParameter === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainSetSchedulerParametersFlags");
  }
  const live = context.live!;
  const handle = handleOf(job.snapshot);
  // Known before anything is done: no intent is recorded for an instance without a group.
  if (driver.appliedTuning !== undefined && driver.appliedTuning(handle) === undefined) {
    throw noCgroupError();
  }
  const target = withSchedulerSettings(live, settings, true);
  await job.append([
    { type: "domain.live_changing", body: { definition: target, change: "schedinfo" } },
  ]);
  // libvirt's walk: each parameter in the caller's order; a zero period or quota is skipped.
  const applied: SchedulerSetting[] = [];
  try {
    for (const setting of settings) {
      if (setting.value !== 0 || setting.name === "cpu_shares") {
        driver.setSchedulerParameter(handle, setting.name as SchedulerParameter, setting.value);
      }
      applied.push(setting);
    }
  } catch (error) {
    await job.append([
      applied.length === 0
        ? { type: "domain.intent_abandoned", body: { intent: "live_change" } }
        : {
          type: "domain.live_changed",
          body: { definition: withSchedulerSettings(live, applied, true), change: "schedinfo" },
        },
    ]);
    throw error;
  }
  const done: DomainFact = {
    type: "domain.live_changed",
    body: { definition: target, change: "schedinfo" },
  };
  await job.append(configFact === undefined ? [done] : [done, configFact]);
}

/** libvirt's test driver's one scheduler parameter: `weight`, an unsigned int. */
const TEST_DRIVER_SCHEDULER_TYPES: ReadonlyMap<string, string> = new Map([["weight", "uint"]]);

/** The test driver's parameters checked as libvirt's (74, 8). */
function checkTestSettings(settings: readonly SchedulerSetting[]): void {
  validateTypedParams(settings, TEST_DRIVER_SCHEDULER_TYPES);
}
