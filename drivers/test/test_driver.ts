/**
 * The built-in `test` hypervisor: domains that live in memory, like libvirt's `test:///default`,
 * without its gaps — the guest's SHUTDOWN comes before STOPPED, every reset is one REBOOT, the
 * counters grow with time, and latencies are configurable so asynchronous paths can be exercised.
 *
 * Inside the service its domains are part of the log like any other, and their "reality" is the
 * log: after a restart they come back in the recorded state.
 *
 * @module
 */

import type {
  DomainHandle,
  Driver,
  InstanceInfo,
  NodeInfo,
  Observation,
  ObservationSink,
  Reality,
} from "../../actors/driver_protocol.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { VERSION } from "../../src/version.ts";

/** Simulated delays, in ms; 0 answers without yielding to timers. */
export interface TestLatencies {
  /** Process start. */
  launchMs: number;
  /** `cont` / `stop`. */
  cpuMs: number;
  /** From a powerdown request to the guest's SHUTDOWN. */
  guestShutdownMs: number;
  /** From a reboot request to the guest's reset. */
  guestRebootMs: number;
  /** Process end. */
  terminateMs: number;
}

/** No delays at all: the default. */
export const NO_LATENCY: TestLatencies = {
  launchMs: 0,
  cpuMs: 0,
  guestShutdownMs: 0,
  guestRebootMs: 0,
  terminateMs: 0,
};

/** The simulated host, as libvirt's test driver describes it: 16 CPUs in 2 NUMA cells. */
export const TEST_NODE_INFO: NodeInfo = {
  model: "i686",
  memoryKiB: 3145728,
  cpus: 16,
  mhz: 1400,
  nodes: 2,
  sockets: 2,
  cores: 2,
  threads: 2,
};

interface Instance {
  running: boolean;
  /** CPU time accumulated while not running, in ns. */
  cpuTimeNs: number;
  /** When the CPUs last started running, in ms; undefined while stopped. */
  runningSinceMs: number | undefined;
  memoryKiB: number;
  vcpus: number;
  sink: ObservationSink | undefined;
  timers: Set<ReturnType<typeof setTimeout>>;
}

/**
 * The test hypervisor driver.
 *
 * @example
 * ```ts
 * import { TestDriver } from "./test_driver.ts";
 * const driver = new TestDriver();
 * console.log(driver.domainTypes); // ["test"]
 * ```
 */
export class TestDriver implements Driver {
  readonly name = "test";
  readonly domainTypes: readonly string[] = ["test"];
  readonly hypervisorVersion: string = VERSION;
  readonly #latencies: TestLatencies;
  readonly #now: () => number;
  readonly #instances = new Map<string, Instance>();

  /**
   * @param options.latencies Simulated delays. Default {@linkcode NO_LATENCY}.
   * @param options.now The clock, in ms since the epoch.
   */
  constructor(options: { latencies?: Partial<TestLatencies>; now?: () => number } = {}) {
    this.#latencies = { ...NO_LATENCY, ...options.latencies };
    this.#now = options.now ?? Date.now;
  }

  /** Host facts for `nodeinfo`. */
  nodeInfo(): NodeInfo {
    return TEST_NODE_INFO;
  }

  check(definition: DomainDefinition): void {
    if (!this.domainTypes.includes(definition.type)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `domain type '${definition.type}' is not supported by the test driver`,
        { where: "/domain/@type" },
      );
    }
  }

  async launch(
    request: { uuid: string; name: string; id: number; definition: DomainDefinition },
    signal: AbortSignal,
  ): Promise<RuntimeRecord> {
    await this.#delay(this.#latencies.launchMs, signal);
    const { definition } = request;
    this.#instances.set(request.uuid, {
      running: false,
      cpuTimeNs: 0,
      runningSinceMs: undefined,
      memoryKiB: definition.currentMemoryKiB ?? definition.memoryKiB,
      vcpus: definition.vcpu?.current ?? Math.max(1, definition.vcpus),
      sink: undefined,
      timers: new Set(),
    });
    return { driver: "test", launchedAtMs: this.#now() };
  }

  async resume(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await this.#delay(this.#latencies.cpuMs, signal);
    const instance = this.#instance(handle);
    if (!instance.running) {
      instance.running = true;
      instance.runningSinceMs = this.#now();
    }
  }

  async pause(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await this.#delay(this.#latencies.cpuMs, signal);
    const instance = this.#instance(handle);
    this.#stopClock(instance);
  }

  powerdown(handle: DomainHandle): Promise<void> {
    const instance = this.#instance(handle);
    this.#later(instance, this.#latencies.guestShutdownMs, () => {
      this.#stopClock(instance);
      instance.sink?.(handle.uuid, { kind: "shutdown", detail: "guest" });
    });
    return Promise.resolve();
  }

  reset(handle: DomainHandle): Promise<void> {
    this.#instance(handle);
    return Promise.resolve();
  }

  reboot(handle: DomainHandle): Promise<void> {
    const instance = this.#instance(handle);
    this.#later(instance, this.#latencies.guestRebootMs, () => {
      instance.sink?.(handle.uuid, { kind: "reset" });
    });
    return Promise.resolve();
  }

  async terminate(
    handle: DomainHandle,
    _options: { graceful: boolean },
    signal: AbortSignal,
  ): Promise<void> {
    await this.#delay(this.#latencies.terminateMs, signal);
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined) return;
    instance.timers.forEach((timer) => clearTimeout(timer));
    this.#instances.delete(handle.uuid);
  }

  probe(handle: DomainHandle): Promise<Reality> {
    // The log is this hypervisor's reality: recreate the instance as recorded.
    if (!this.#instances.has(handle.uuid)) {
      const { definition } = handle;
      this.#instances.set(handle.uuid, {
        running: true,
        cpuTimeNs: 0,
        runningSinceMs: this.#now(),
        memoryKiB: definition.currentMemoryKiB ?? definition.memoryKiB,
        vcpus: definition.vcpu?.current ?? Math.max(1, definition.vcpus),
        sink: undefined,
        timers: new Set(),
      });
    }
    return Promise.resolve({ kind: "as_recorded" });
  }

  watch(handle: DomainHandle, sink: ObservationSink): void {
    this.#instance(handle).sink = sink;
  }

  unwatch(uuid: string): void {
    const instance = this.#instances.get(uuid);
    if (instance !== undefined) instance.sink = undefined;
  }

  info(handle: DomainHandle): InstanceInfo {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined) return { cpuTimeNs: 0, memoryKiB: 0 };
    const runningNs = instance.runningSinceMs === undefined
      ? 0
      : (this.#now() - instance.runningSinceMs) * 1_000_000;
    // Each vCPU is busy a tenth of the time: plausible, and monotonic.
    return {
      cpuTimeNs: Math.round(instance.cpuTimeNs + runningNs * instance.vcpus / 10),
      memoryKiB: instance.memoryKiB,
    };
  }

  /**
   * Makes something happen to a running instance as if the guest or the hypervisor did it (a
   * panic, an I/O error, a dying process, …) and reports it like any other observation.
   *
   * @throws {VirtError} Code 55 when the domain has no running instance here.
   */
  simulate(uuid: string, observation: Observation): void {
    const instance = this.#instances.get(uuid);
    if (instance === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `domain '${uuid}' is not running`);
    }
    if (observation.kind === "paused" || observation.kind === "pmsuspended") {
      this.#stopClock(instance);
    } else if (observation.kind === "resumed" || observation.kind === "wakeup") {
      instance.running = true;
      instance.runningSinceMs ??= this.#now();
    } else if (observation.kind === "balloon") {
      instance.memoryKiB = observation.actualKiB;
    }
    const sink = instance.sink;
    if (observation.kind === "stopped") {
      instance.timers.forEach((timer) => clearTimeout(timer));
      this.#instances.delete(uuid);
    }
    sink?.(uuid, observation);
  }

  close(): Promise<void> {
    for (const instance of this.#instances.values()) {
      instance.timers.forEach((timer) => clearTimeout(timer));
      instance.timers.clear();
      instance.sink = undefined;
    }
    return Promise.resolve();
  }

  #instance(handle: DomainHandle): Instance {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `domain '${handle.name}' is not running`);
    }
    return instance;
  }

  #stopClock(instance: Instance): void {
    if (instance.runningSinceMs !== undefined) {
      instance.cpuTimeNs += (this.#now() - instance.runningSinceMs) * 1_000_000 * instance.vcpus /
        10;
    }
    instance.running = false;
    instance.runningSinceMs = undefined;
  }

  #later(instance: Instance, delayMs: number, action: () => void): void {
    const timer = setTimeout(() => {
      instance.timers.delete(timer);
      action();
    }, delayMs);
    instance.timers.add(timer);
  }

  #delay(delayMs: number, signal: AbortSignal): Promise<void> {
    if (delayMs <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, delayMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new VirtError(ErrorCode.OPERATION_ABORTED, "operation aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
