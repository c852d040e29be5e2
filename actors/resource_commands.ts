/**
 * `setmem`, `setmaxmem`, `setvcpus` and `blockresize` as jobs of the domain's actor: libvirt's
 * checks for the driver at hand (its QEMU driver or its test driver), then the facts. A change
 * of the persistent definition is one `domain.config_changed`; a change of the running instance
 * is recorded as an intent (`domain.live_changing`) before the driver asks the hypervisor, then
 * as `domain.live_changed` with the live definition that results, so a restarted service shows
 * the live values without asking QEMU. A driver that fails appends `domain.intent_abandoned`.
 *
 * @module
 */

import { isBridgedInterface } from "../src/model/tap_names.ts";
import { SCHEDULER_PARAMETERS } from "../src/model/scheduler_params.ts";
import { interfaceBandwidthOf } from "../src/xml/interface_bandwidth.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  blockResizeBytes,
  checkCurrentMemory,
  checkMemoryArgument,
  checkResourceFlags,
  checkVcpuArgument,
  currentMemoryOf,
  currentVcpusOf,
  diskIndexByName,
  MAXIMUM,
  maxVcpusOf,
  resolveScope,
  TEST_MAX_VCPUS,
  VCPU_GUEST,
  VCPU_HOTPLUGGABLE,
  vcpuCount,
  withCurrentMemory,
  withCurrentVcpus,
  withMaxMemory,
  withMaxVcpus,
} from "../src/model/domain_resources.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact, DomainFactBodies, ResourceChange } from "../src/model/facts.ts";
import { agentChannelIndex } from "../src/model/guest_agent_channel.ts";
import type { JobContext } from "./domain_actor.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import { type CommandEnvironment, handleOf } from "./domain_commands.ts";
import { currentDefinition, isActive, pendingIntent, statePath } from "./domain_machine.ts";
import type { DomainHandle, Driver, Reality } from "./driver_protocol.ts";

/**
 * The domain's driver (of its instance when it runs) and whether it is libvirt's test driver.
 *
 * @throws {VirtError} Code 42 when the domain no longer exists.
 */
export function driverOf(
  job: JobContext,
  env: CommandEnvironment,
): { driver: Driver; test: boolean } {
  if (statePath(job.snapshot) === "nonexistent") {
    throw new VirtError(
      ErrorCode.NO_DOMAIN,
      `no domain with matching uuid '${job.snapshot.context.uuid}'`,
    );
  }
  const driver = env.driverFor(currentDefinition(job.snapshot));
  return { driver, test: driver.name === "test" };
}

function scopeOf(job: JobContext, flags: number) {
  return resolveScope(flags, {
    active: isActive(job.snapshot),
    persistent: job.snapshot.context.persistent,
  });
}

/**
 * Records the intent, lets `act` change the running instance, then records the outcome (and
 * any config change with it). A failing `act` abandons the intent and rethrows.
 */
export async function changeLive(
  job: JobContext,
  intent: DomainFactBodies["domain.live_changing"],
  act: () => Promise<DomainDefinition>,
  config?: DomainFact,
): Promise<void> {
  await job.append([{ type: "domain.live_changing", body: intent }]);
  let definition: DomainDefinition;
  try {
    definition = await act();
  } catch (error) {
    await job.append([{ type: "domain.intent_abandoned", body: { intent: "live_change" } }]);
    throw error;
  }
  const done: DomainFact = { type: "domain.live_changed", body: { ...intent, definition } };
  await job.append(config === undefined ? [done] : [done, config]);
}

/** The `domain.config_changed` fact of a new persistent definition. */
export function configChanged(definition: DomainDefinition, change: ResourceChange): DomainFact {
  return { type: "domain.config_changed", body: { definition, change } };
}

function unsupported(api: string): VirtError {
  return new VirtError(ErrorCode.NO_SUPPORT, api);
}

/** What `setmem` and `setmaxmem` ask. */
export interface MemoryRequest {
  /** The size in KiB. */
  memoryKiB: number;
  /** libvirt's flags: `AFFECT_LIVE`, `AFFECT_CONFIG`, `MAXIMUM`. */
  flags: number;
  /** The API called, for messages (`virDomainSetMemoryFlags`, `virDomainSetMaxMemory`, …). */
  api: string;
}

/**
 * `virDomainSetMemoryFlags` (and `virDomainSetMemory`, `virDomainSetMaxMemory`): the current
 * memory through the balloon or in the persistent definition; with `MAXIMUM` the maximum of the
 * persistent definition.
 *
 * @throws {VirtError} libvirt's refusals (codes 8, 55, 82, …), nothing recorded.
 */
export async function setMemory(
  job: JobContext,
  env: CommandEnvironment,
  request: MemoryRequest,
): Promise<void> {
  checkMemoryArgument(request.memoryKiB, request.api);
  const { driver, test } = driverOf(job, env);
  checkResourceFlags(
    request.flags,
    AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
    test ? "testDomainSetMemoryFlags" : "qemuDomainSetMemoryFlags",
  );
  if (test && (request.flags & (AFFECT_LIVE | AFFECT_CONFIG)) === (AFFECT_LIVE | AFFECT_CONFIG)) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
      { where: "flags", bare: true },
    );
  }
  const scope = scopeOf(job, request.flags);
  const { context } = job.snapshot;
  const live = scope.live ? context.live! : undefined;
  const config = scope.config ? context.definition! : undefined;
  if ((request.flags & MAXIMUM) !== 0) {
    if (live !== undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        "cannot resize the maximum memory on an active domain",
      );
    }
    await job.append([configChanged(withMaxMemory(config!, request.memoryKiB), "max_memory")]);
    return;
  }
  checkCurrentMemory(request.memoryKiB, { live, config });
  const configFact = config === undefined
    ? undefined
    : configChanged(withCurrentMemory(config, request.memoryKiB), "memory");
  if (live === undefined) {
    await job.append([configFact!]);
    return;
  }
  const balloon = live.devices.memballoon;
  if (!test && (balloon === undefined || balloon.model === "none")) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "Unable to change memory of active domain without the balloon device and guest OS balloon driver",
    );
  }
  if (driver.setMemory === undefined) throw unsupported(request.api);
  const handle = handleOf(job.snapshot);
  const target = withCurrentMemory(live, request.memoryKiB);
  await changeLive(job, { definition: target, change: "memory" }, async () => {
    await driver.setMemory!(handle, request.memoryKiB, job.signal);
    return target;
  }, configFact);
}

/** What `setvcpus` asks. */
export interface VcpuRequest {
  /** The vCPU count. */
  count: number;
  /** libvirt's flags: `AFFECT_LIVE`, `AFFECT_CONFIG`, `MAXIMUM`, `VCPU_GUEST`, `VCPU_HOTPLUGGABLE`. */
  flags: number;
  /** The API called, for messages. */
  api: string;
}

/**
 * `virDomainSetVcpusFlags` (and `virDomainSetVcpus`): the online count by hotplug or in the
 * persistent definition; with `MAXIMUM` (and `AFFECT_CONFIG`) the persistent maximum.
 *
 * @throws {VirtError} libvirt's refusals, nothing recorded; code 9 when hotpluggable vCPUs
 *   cannot reach the count.
 */
export async function setVcpus(
  job: JobContext,
  env: CommandEnvironment,
  request: VcpuRequest,
): Promise<void> {
  const { count, flags } = request;
  checkVcpuArgument(count, flags, request.api);
  const { driver, test } = driverOf(job, env);
  if (test) {
    checkResourceFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM, "testDomainSetVcpusFlags");
    if (count > TEST_MAX_VCPUS) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `requested cpu amount exceeds maximum supported amount (${count} > ${TEST_MAX_VCPUS})`,
        { where: "nvcpus" },
      );
    }
  } else {
    checkResourceFlags(
      flags,
      AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM | VCPU_GUEST | VCPU_HOTPLUGGABLE,
      "qemuDomainSetVcpusFlags",
    );
    if ((flags & VCPU_GUEST) !== 0) throw guestRefusal(job, request.api);
  }
  const scope = scopeOf(job, flags);
  const { context } = job.snapshot;
  const live = scope.live ? context.live! : undefined;
  const config = scope.config ? context.definition! : undefined;
  const maximum = (flags & MAXIMUM) !== 0;
  if (maximum && live !== undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "maximum vcpu count of a live domain can't be modified",
      {
        where: "flags",
      },
    );
  }
  const over = (definition: DomainDefinition | undefined, which: string) => {
    if (definition === undefined || count <= maxVcpusOf(definition)) return;
    const message = test
      ? `requested cpu amount exceeds maximum (${count} > ${maxVcpusOf(definition)})`
      : `requested vcpus is greater than max allowable vcpus for the ${which} domain: ${count} > ${
        maxVcpusOf(definition)
      }`;
    throw new VirtError(ErrorCode.INVALID_ARG, message, { where: "nvcpus" });
  };
  over(live, "live");
  if (!maximum) over(config, "persistent");
  const configFact = config === undefined ? undefined : configChanged(
    maximum ? withMaxVcpus(config, count) : withCurrentVcpus(config, count),
    maximum ? "max_vcpus" : "vcpus",
  );
  if (live === undefined) {
    await job.append([configFact!]);
    return;
  }
  if (driver.setVcpus === undefined) throw unsupported(request.api);
  const handle = handleOf(job.snapshot);
  const target = withCurrentVcpus(live, count);
  await changeLive(
    job,
    { definition: target, change: "vcpus" },
    () => driver.setVcpus!(handle, count, job.signal),
    configFact,
  );
}

/** The QEMU driver's answer to `VIR_DOMAIN_VCPU_GUEST`: the guest agent would be asked. */
function guestRefusal(job: JobContext, api: string): VirtError {
  const live = job.snapshot.context.live;
  if (live === null) return new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  if (agentChannelIndex(live) < 0) {
    return new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured");
  }
  // evirt does not (yet) ask the agent for guest-get-vcpus / guest-set-vcpus.
  return new VirtError(ErrorCode.NO_SUPPORT, `${api} with VIR_DOMAIN_VCPU_GUEST`);
}

/**
 * `virDomainGetVcpusFlags`'s driver checks: the test driver refuses `VCPU_GUEST` as an unknown
 * flag; the QEMU driver would ask the guest agent.
 *
 * @throws {VirtError} Code 8 for flags the driver does not know, 74 or 3 for `VCPU_GUEST`.
 */
export function checkVcpuCountFlags(
  driver: Driver,
  live: DomainDefinition | null,
  flags: number,
): void {
  if (driver.name === "test") {
    checkResourceFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM, "testDomainGetVcpusFlags");
    return;
  }
  checkResourceFlags(
    flags,
    AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM | VCPU_GUEST,
    "qemuDomainGetVcpusFlags",
  );
  if ((flags & VCPU_GUEST) === 0) return;
  if (live === null) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "vCPU count provided by the guest agent can only be requested for live domains",
      { where: "flags" },
    );
  }
  if (agentChannelIndex(live) < 0) {
    throw new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured");
  }
  throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainGetVcpusFlags with VIR_DOMAIN_VCPU_GUEST");
}

/** What `blockresize` asks. */
export interface BlockResizeRequest {
  /** The disk's target or source path. */
  disk: string;
  /** The size: KiB, or bytes with `BLOCK_RESIZE_BYTES` in `flags`. */
  size: bigint;
  /** libvirt's flags: `BLOCK_RESIZE_BYTES`. */
  flags: number;
}

/**
 * `virDomainBlockResize`: the running instance's disk gets the new size (QEMU `block_resize`).
 * libvirt 9.0 has no shrink guard of its own: QEMU decides (raw images shrink; a refusal is
 * QEMU's error).
 *
 * @throws {VirtError} 3 when the driver cannot resize, 55 when inactive, 8 for an unknown disk,
 *   84 for an empty or read-only one.
 */
export async function blockResize(
  job: JobContext,
  env: CommandEnvironment,
  request: BlockResizeRequest,
): Promise<void> {
  const { driver, test } = driverOf(job, env);
  if (test || driver.resizeBlock === undefined) throw unsupported("virDomainBlockResize");
  checkResourceFlags(request.flags, 1, "qemuDomainBlockResize");
  const bytes = (request.flags & 1) !== 0;
  if (!isActive(job.snapshot)) {
    // libvirt checks the size's overflow first, then that the domain runs.
    blockResizeBytes(request.size, bytes, undefined);
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  const handle: DomainHandle = handleOf(job.snapshot);
  const index = diskIndexByName(handle.definition, request.disk);
  const disk = handle.definition.devices.disks[index];
  if (disk.source === undefined || disk.readonly === true) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `can't resize empty or readonly disk '${disk.target.dev}'`,
    );
  }
  const sizeBytes = blockResizeBytes(request.size, bytes, disk.driver?.type);
  const intent: DomainFactBodies["domain.live_changing"] = {
    definition: handle.definition,
    change: "disk_size",
    disk: { target: disk.target.dev, sizeBytes: sizeBytes.toString() },
  };
  await changeLive(job, intent, async () => {
    await driver.resizeBlock!(handle, index, sizeBytes, job.signal);
    return handle.definition;
  });
}

/**
 * `virDomainGetVcpusFlags`: the maximum or online vCPU count of the live or persistent
 * definition, with the driver's flag checks.
 *
 * @throws {VirtError} Code 55 for `--live` of an inactive domain; the driver's flag refusals.
 */
export function vcpuCountOf(inspection: DomainInspection, flags: number): number {
  const live = inspection.handle?.definition ?? null;
  if (inspection.driver !== undefined) checkVcpuCountFlags(inspection.driver, live, flags);
  return vcpuCount(flags, { live, config: inspection.persistentDefinition });
}

/**
 * Finishes a live change the service was asking the hypervisor for when it died (its
 * `domain.live_changing` has no outcome): the change is asked again, as each sets a target
 * (balloon size, vCPU count, disk size) that asking twice leaves the same, and its outcome is
 * recorded; a driver that refuses abandons the intent. Nothing to do for a gone instance: its
 * stop clears the intent.
 *
 * @example
 * ```ts ignore
 * await finishInterruptedLiveChange(job, driver, handle, reality, log);
 * ```
 */
export async function finishInterruptedLiveChange(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  reality: Reality,
  log: (message: string) => void,
): Promise<void> {
  const intent = pendingIntent(job.snapshot);
  if (intent?.kind !== "live_change" || reality.kind === "gone") return;
  const { kind: _kind, ...body } = intent;
  log(`domain ${handle.name}: asking again for its interrupted ${intent.change} change`);
  try {
    const definition = await redoLiveChange(driver, handle, body, job.signal);
    await job.append([{ type: "domain.live_changed", body: { ...body, definition } }]);
  } catch (error) {
    log(
      `domain ${handle.name}: cannot finish its ${intent.change} change: ${
        (error as Error).message
      }`,
    );
    await job.append([{ type: "domain.intent_abandoned", body: { intent: "live_change" } }]);
  }
}

async function redoLiveChange(
  driver: Driver,
  handle: DomainHandle,
  intent: DomainFactBodies["domain.live_changing"],
  signal: AbortSignal,
): Promise<DomainDefinition> {
  switch (intent.change) {
    case "memory": {
      if (driver.setMemory === undefined) throw unsupported("virDomainSetMemoryFlags");
      await driver.setMemory(handle, currentMemoryOf(intent.definition), signal);
      return intent.definition;
    }
    case "vcpus": {
      if (driver.setVcpus === undefined) throw unsupported("virDomainSetVcpusFlags");
      return await driver.setVcpus(handle, currentVcpusOf(intent.definition), signal);
    }
    case "disk_size": {
      if (driver.resizeBlock === undefined || intent.disk === undefined) {
        throw unsupported("virDomainBlockResize");
      }
      const index = diskIndexByName(handle.definition, intent.disk.target);
      await driver.resizeBlock(handle, index, BigInt(intent.disk.sizeBytes), signal);
      return handle.definition;
    }
    case "interface_bandwidth": {
      // Each shaped interface set again as the intent has it (setting one twice is harmless).
      if (driver.setInterfaceBandwidth === undefined) {
        throw unsupported("virDomainSetInterfaceParameters");
      }
      for (const [index, nic] of intent.definition.devices.interfaces.entries()) {
        if (!isBridgedInterface(nic)) continue;
        const where = `/domain/devices/interface[${index + 1}]`;
        await driver.setInterfaceBandwidth(handle, index, interfaceBandwidthOf(nic, where));
      }
      return intent.definition;
    }
    case "perf": {
      if (driver.setPerfEvent === undefined) throw unsupported("virDomainSetPerfEvents");
      for (const event of intent.definition.perf ?? []) {
        driver.setPerfEvent(handle, event.name, event.enabled === "yes");
      }
      return intent.definition;
    }
    case "schedinfo": {
      // The group's values as the intent has them (writing a control file twice is harmless).
      if (driver.setSchedulerParameter === undefined) {
        throw unsupported("virDomainSetSchedulerParametersFlags");
      }
      const tune = intent.definition.cputune;
      for (const { name, field } of SCHEDULER_PARAMETERS) {
        const value = tune?.[field];
        if (value === undefined || (value === 0 && name !== "cpu_shares")) continue;
        driver.setSchedulerParameter(handle, name, value);
      }
      return intent.definition;
    }
    default:
      throw new Error(`no live change '${intent.change}' to finish`);
  }
}
