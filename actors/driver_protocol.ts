/**
 * The protocol between domain actors and hypervisor drivers.
 *
 * A driver does the real work (spawning QEMU, QMP commands, an in-memory hypervisor) and reports
 * what it observes. It never decides lifecycle policy and never writes facts: the domain actor
 * calls it, then records what happened. Observations report only changes the driver did not make
 * on the actor's request (a STOP event caused by the actor's own `pause()` is not reported).
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import type {
  CrashedDetail,
  IoErrorActionName,
  PausedReasonName,
  PmsuspendedDetail,
  RuntimeRecord,
  ShutdownDetail,
  WatchdogActionName,
} from "../src/model/facts.ts";

/** What a driver needs to act on a running instance. */
export interface DomainHandle {
  /** The domain's uuid. */
  uuid: string;
  /** The domain's name. */
  name: string;
  /** The running instance's id. */
  id: number;
  /** The live definition the instance runs with. */
  definition: DomainDefinition;
  /** Driver data recorded at launch (pid, monitor socket, …). */
  runtime: RuntimeRecord;
}

/** What a driver saw happen to a running instance without being asked. */
export type Observation =
  | { kind: "shutdown"; detail: ShutdownDetail; guestReset?: boolean }
  | { kind: "stopped"; reason: "shutdown" | "crashed" }
  | { kind: "paused"; reason: PausedReasonName }
  | { kind: "resumed" }
  | { kind: "reset" }
  | { kind: "crashed"; detail: CrashedDetail }
  | { kind: "pmsuspended"; detail: PmsuspendedDetail }
  | { kind: "wakeup" }
  | { kind: "balloon"; actualKiB: number }
  | { kind: "rtc"; utcOffsetSeconds: number }
  | { kind: "watchdog"; action: WatchdogActionName }
  | {
    kind: "io_error";
    srcPath: string;
    devAlias: string;
    action: IoErrorActionName;
    reason: string;
  }
  | { kind: "device_removed"; alias: string };

/** Where an instance really is, as a driver finds it after a service restart. */
export type Reality =
  /** The process is gone. */
  | { kind: "gone" }
  /** The driver keeps no reality apart from the log (the test hypervisor): keep the record. */
  | { kind: "as_recorded" }
  /** The CPUs run. */
  | { kind: "running" }
  /** The CPUs are stopped, for this reason. */
  | { kind: "paused"; reason: PausedReasonName }
  /** The guest shut down and the process waits to be ended. */
  | { kind: "shutdown" }
  /** The guest panicked and the process is preserved. */
  | { kind: "crashed" };

/** Receives a driver's observations, in the order they happened. */
export type ObservationSink = (uuid: string, observation: Observation) => void;

/** Live figures of a running instance. */
export interface InstanceInfo {
  /** CPU time consumed, in ns. */
  cpuTimeNs: number;
  /** Current memory (balloon), in KiB. */
  memoryKiB: number;
}

/** Host facts for `nodeinfo`. */
export interface NodeInfo {
  /** CPU model, e.g. `x86_64`. */
  model: string;
  /** Memory in KiB. */
  memoryKiB: number;
  /** Logical CPUs. */
  cpus: number;
  /** CPU frequency in MHz. */
  mhz: number;
  /** NUMA cells. */
  nodes: number;
  /** Sockets per node. */
  sockets: number;
  /** Cores per socket. */
  cores: number;
  /** Threads per core. */
  threads: number;
}

/**
 * A hypervisor driver. Every method that acts on an instance takes an `AbortSignal` and has a
 * bounded duration of its own; it rejects with a `VirtError` that says what went wrong.
 */
export interface Driver {
  /** The driver's name, e.g. `test` or `qemu`. */
  readonly name: string;
  /** The `<domain type=…>` values this driver runs. */
  readonly domainTypes: readonly string[];
  /** The hypervisor's version, e.g. `7.2.0`, for `version`. */
  readonly hypervisorVersion: string;

  /**
   * Refuses a definition this driver cannot run, with code 67 naming the element. Called at
   * define and again at start; never has side effects.
   */
  check(definition: DomainDefinition): void;

  /**
   * Starts an instance with its CPUs stopped (QEMU's `-S`).
   *
   * @returns The runtime record that finds the instance again after a service restart.
   */
  launch(
    request: { uuid: string; name: string; id: number; definition: DomainDefinition },
    signal: AbortSignal,
  ): Promise<RuntimeRecord>;

  /** Runs the CPUs (QMP `cont`). */
  resume(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Stops the CPUs (QMP `stop`). */
  pause(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Asks the guest to power off (ACPI); resolves once the request reached the guest. */
  powerdown(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Resets the guest now (QMP `system_reset`). */
  reset(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /**
   * Asks the guest to reboot; resolves once the request reached the guest. The reset that
   * follows is reported as a `reset` observation.
   */
  reboot(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /**
   * Ends the instance and resolves once it is gone: SIGTERM, then SIGKILL after a grace period
   * unless `graceful`, in which case it rejects if SIGTERM did not suffice.
   */
  terminate(
    handle: DomainHandle,
    options: { graceful: boolean },
    signal: AbortSignal,
  ): Promise<void>;

  /** Finds where an instance recorded as active really is (after a service restart). */
  probe(handle: DomainHandle, signal: AbortSignal): Promise<Reality>;
  /** Starts reporting observations of an instance (after launch, or after probe). */
  watch(handle: DomainHandle, sink: ObservationSink): void;
  /** Stops reporting observations of an instance and releases its resources in the service. */
  unwatch(uuid: string): void;

  /** Live figures of an instance, from what the driver has at hand (never blocks on a guest). */
  info(handle: DomainHandle): InstanceInfo;

  /**
   * The host path of an instance's text console (a pty), for `console`: the given serial or
   * console device alias, or the primary console. Undefined when it has none.
   */
  consolePath?(handle: DomainHandle, device?: string): string | undefined;

  /** Releases the driver (monitors, timers). Running instances keep running. */
  close(): Promise<void>;
}
