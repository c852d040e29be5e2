/**
 * The built-in `test` hypervisor: domains that live in memory, like libvirt's `test:///default`,
 * without its gaps — the guest's SHUTDOWN comes before STOPPED, every reset is one REBOOT, the
 * counters grow with time, and latencies are configurable so asynchronous paths can be exercised.
 *
 * Inside the service its domains are part of the log like any other, and their "reality" is the
 * log: after a restart they come back in the recorded state.
 *
 * The figures `virsh -c test:///default` reads are libvirt's test driver's, derived as its are
 * from the wall clock (so they grow even while the guest is paused): the domain's CPU time is the
 * clock in ns; each vCPU's is the clock in µs / 10 (ns), on the last host CPU; the interfaces'
 * counters are the clock in µs divided by fixed factors; the guest's memory statistics are fixed.
 * So are each disk's counters (`domblkstat`), on a simulated storage where every image is a fully
 * written file of {@linkcode TEST_DISK_BYTES}. A running domain's `domblkinfo` is libvirt's test
 * driver's: capacity {@linkcode TEST_DISK_CAPACITY_BYTES}, allocation and physical
 * {@linkcode TEST_DISK_BYTES}. Samples are always fresh: there is no monitor. The figures
 * themselves live in `test_figures.ts`.
 *
 * @module
 */

import { TEST_SNAPSHOTS } from "./test_snapshots.ts";
import type {
  BlockSample,
  DomainDescription,
  DomainHandle,
  Driver,
  InstanceInfo,
  InstanceSamples,
  LaunchRequest,
  NodeInfo,
  Observation,
  ObservationSink,
  Reality,
  SaveRequest,
  Screenshot,
  VcpuSample,
} from "../../actors/driver_protocol.ts";
import { testScreenshotPng } from "./test_screenshot.ts";
import { readTestSaveImage, writeTestSaveImage } from "../../src/storage/test_save_image.ts";
import type { BlockStorageAccess } from "../../src/storage/block_info.ts";
import type { DiskError } from "../../src/storage/block_figures.ts";
import type { GuestCapability, HostCapability } from "../../src/model/capabilities.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { withCurrentVcpus } from "../../src/model/domain_resources.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { VERSION } from "../../src/model/version.ts";
import { completeTestDefinition } from "./test_completion.ts";
import {
  TEST_DISK_BYTES,
  TEST_DISK_CAPACITY_BYTES,
  TEST_GUEST_MEMORY,
  TEST_GUESTS,
  TEST_HOST_CAPABILITY,
  TEST_NODE_INFO,
  TEST_RSS_KIB,
  TEST_VCPU_TIME_DIVISOR,
  testBlockSample,
  testDiskErrors,
  testInterfaces,
  testStorage,
} from "./test_figures.ts";

/** libvirt's test driver's figures, for the callers that used to find them here. */
export { TEST_DISK_BYTES, TEST_DISK_CAPACITY_BYTES, TEST_NODE_INFO };

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

interface Instance {
  running: boolean;
  /** Wall time the CPUs ran before `runningSinceMs`, in ns. */
  ranNs: number;
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
  /** As libvirt's test driver: `domblkstat` needs a disk. */
  readonly sumsBlockStats = false;
  /** Snapshots as libvirt's test driver keeps them: metadata only (`test_snapshots.ts`). */
  readonly snapshots = TEST_SNAPSHOTS;
  readonly #latencies: TestLatencies;
  readonly #now: () => number;
  readonly #asLibvirtTestDriver: boolean;
  /**
   * Save and restore in libvirt's test driver's image layout (`src/storage/test_save_image.ts`),
   * only as libvirt's test driver (`asLibvirtTestDriver`): elsewhere the test hypervisor stands
   * beside QEMU, whose layout the service's save images have.
   */
  readonly saveState?: Driver["saveState"];
  /** See {@linkcode TestDriver.saveState}. */
  readonly restoreState?: Driver["restoreState"];
  /** See {@linkcode TestDriver.saveState}. */
  readonly readOwnSaveImage?: Driver["readOwnSaveImage"];
  /** See {@linkcode TestDriver.saveState}: libvirt's test driver marks a managed save only. */
  readonly managedSaveWithoutImage?: boolean;
  readonly #instances = new Map<string, Instance>();

  /**
   * @param options.latencies Simulated delays. Default {@linkcode NO_LATENCY}.
   * @param options.now The clock, in ms since the epoch.
   */
  /**
   * @param options.asLibvirtTestDriver Describe domains as libvirt's test driver does (OS type
   *   `linux`, the clock as CPU time, the `testSecurity` model): what `test:///default` answers.
   *   Off on the service's host, whose other doors (libvirt's protocol) report the node's model.
   */
  constructor(
    options: {
      latencies?: Partial<TestLatencies>;
      now?: () => number;
      asLibvirtTestDriver?: boolean;
    } = {},
  ) {
    this.#latencies = { ...NO_LATENCY, ...options.latencies };
    this.#now = options.now ?? Date.now;
    this.#asLibvirtTestDriver = options.asLibvirtTestDriver ?? false;
    if (this.#asLibvirtTestDriver) {
      this.saveState = (handle, request, signal) => this.#saveState(handle, request, signal);
      this.restoreState = (handle, _image, signal) => this.#restoreState(handle, signal);
      this.readOwnSaveImage = readTestSaveImage;
      this.managedSaveWithoutImage = true;
    }
  }

  /** Host facts for `nodeinfo`. */
  nodeInfo(): NodeInfo {
    return TEST_NODE_INFO;
  }

  /** The definition as libvirt's test driver completes it at define (test_completion.ts). */
  completeDefinition(definition: DomainDefinition): Promise<DomainDefinition> {
    return Promise.resolve(completeTestDefinition(definition));
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

  plan(): RuntimeRecord {
    return { driver: "test" };
  }

  async launch(request: LaunchRequest, signal: AbortSignal): Promise<RuntimeRecord> {
    if (this.#instances.has(request.uuid)) throw alreadyRunning(request.name);
    await this.#delay(this.#latencies.launchMs, signal);
    if (this.#instances.has(request.uuid)) throw alreadyRunning(request.name);
    const { definition } = request;
    this.#instances.set(request.uuid, {
      running: false,
      ranNs: 0,
      runningSinceMs: undefined,
      memoryKiB: definition.currentMemoryKiB ?? definition.memoryKiB,
      vcpus: definition.vcpu?.current ?? Math.max(1, definition.vcpus),
      sink: undefined,
      timers: new Set(),
    });
    return { driver: "test", launchedAtMs: this.#now() };
  }

  /** An instance lives on only in this driver object (the same process): nothing survives a restart. */
  adopt(request: LaunchRequest): Promise<RuntimeRecord | undefined> {
    return Promise.resolve(
      this.#instances.has(request.uuid) ? { driver: "test", launchedAtMs: this.#now() } : undefined,
    );
  }

  async resume(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await this.#delay(this.#latencies.cpuMs, signal);
    const instance = this.#instance(handle);
    if (!instance.running) {
      instance.running = true;
      instance.runningSinceMs = this.#now();
    }
  }

  /**
   * Writes libvirt's test driver's image (its magic and the XML): the test hypervisor has no
   * memory to keep, so the XML is the whole state.
   */
  async #saveState(handle: DomainHandle, request: SaveRequest, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.#instance(handle);
    await writeTestSaveImage(request.path, handle.name, request.xml);
  }

  /** Nothing to load: a test image holds no memory (its XML already defined the instance). */
  #restoreState(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.#instance(handle);
    return Promise.resolve();
  }

  async pause(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await this.#delay(this.#latencies.cpuMs, signal);
    const instance = this.#instance(handle);
    this.#stopClock(instance);
  }

  /**
   * The guest shuts down; as libvirt's test driver, `on_poweroff` restart (or rename-restart)
   * boots it again in the same instance (same id) instead, like a reboot.
   */
  powerdown(handle: DomainHandle): Promise<void> {
    const instance = this.#instance(handle);
    const policy = handle.definition.onPoweroff ?? "destroy";
    if (policy === "restart" || policy === "rename-restart") return this.#rebootLater(handle);
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

  /** As libvirt's test driver: the keys were checked against their codeset; nothing else. */
  sendKey(handle: DomainHandle): Promise<void> {
    this.#instance(handle);
    return Promise.resolve();
  }

  /** As libvirt's test driver: a PNG (made here, see `test_screenshot.ts`). */
  screenshot(handle: DomainHandle): Promise<Screenshot> {
    this.#instance(handle);
    return Promise.resolve({ mime: "image/png", data: testScreenshotPng() });
  }

  /**
   * As libvirt's test driver: `on_reboot` restart (or rename-restart) boots the guest again, even
   * a paused one (running (booted)); any other policy ends it, as a guest that shut down.
   */
  reboot(handle: DomainHandle): Promise<void> {
    const instance = this.#instance(handle);
    const policy = handle.definition.onReboot ?? "restart";
    if (policy === "restart" || policy === "rename-restart") return this.#rebootLater(handle);
    this.#later(instance, this.#latencies.guestRebootMs, () => {
      this.#stopClock(instance);
      instance.sink?.(handle.uuid, { kind: "shutdown", detail: "guest", guestReset: true });
    });
    return Promise.resolve();
  }

  /** The guest resets and runs again, booted, in the same instance. */
  #rebootLater(handle: DomainHandle): Promise<void> {
    const instance = this.#instance(handle);
    this.#later(instance, this.#latencies.guestRebootMs, () => {
      if (!instance.running) {
        instance.running = true;
        instance.runningSinceMs = this.#now();
      }
      instance.sink?.(handle.uuid, { kind: "reset", booted: true });
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
        ranNs: 0,
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

  /** As libvirt's test driver: the live current memory is set at once (no guest to ask). */
  setMemory(handle: DomainHandle, memoryKiB: number): Promise<void> {
    this.#instance(handle).memoryKiB = memoryKiB;
    return Promise.resolve();
  }

  /** As libvirt's test driver: the live vCPU count is set at once, any vCPU being hotpluggable. */
  setVcpus(handle: DomainHandle, count: number): Promise<DomainDefinition> {
    this.#instance(handle).vcpus = count;
    return Promise.resolve(withCurrentVcpus(handle.definition, count));
  }

  info(handle: DomainHandle): InstanceInfo {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined) return { cpuTimeNs: 0, memoryKiB: 0 };
    // libvirt's test driver: the wall clock, in ns.
    return { cpuTimeNs: this.#now() * 1_000_000, memoryKiB: instance.memoryKiB };
  }

  /**
   * libvirt's test driver's answers in any state: OS type `linux`, the wall clock as CPU time (in
   * ns), its `testSecurity` model, and the label `libvirt-test (enforcing)` while active.
   */
  describe(_definition: DomainDefinition, active: boolean): DomainDescription {
    if (!this.#asLibvirtTestDriver) return {};
    return {
      osType: "linux",
      cpuTimeNs: this.#now() * 1_000_000,
      security: {
        model: "testSecurity",
        doi: "",
        ...(active ? { label: "libvirt-test (enforcing)" } : {}),
      },
    };
  }

  samples(handle: DomainHandle): InstanceSamples | undefined {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined) return undefined;
    const definition = handle.definition;
    const ranNs = this.#ranNs(instance);
    const vcpus = this.#vcpus(instance, ranNs);
    const timeNs = vcpus.reduce((sum, vcpu) => sum + vcpu.timeNs, 0);
    const systemNs = Math.floor(timeNs / 4);
    const samples: InstanceSamples = {
      takenAtMs: this.#now(),
      stale: false,
      cpu: { timeNs, userNs: timeNs - systemNs, systemNs },
      rssKiB: TEST_RSS_KIB,
      vcpus,
      block: testBlockSample(definition, this.#now() * 1000),
      interfaces: testInterfaces(definition, this.#now() * 1000),
      guestMemory: [...TEST_GUEST_MEMORY],
    };
    const balloon = definition.devices.memballoon;
    if (balloon !== undefined && balloon.model !== "none") samples.balloonKiB = instance.memoryKiB;
    return samples;
  }

  blockQuery(handle: DomainHandle): Promise<BlockSample> {
    try {
      this.#instance(handle);
      return Promise.resolve(testBlockSample(handle.definition, this.#now() * 1000));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  diskErrors(handle: DomainHandle): Promise<DiskError[]> {
    try {
      this.#instance(handle);
      return Promise.resolve(testDiskErrors(handle.definition));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The simulated storage: every path is a fully allocated image of {@linkcode TEST_DISK_BYTES}
   * whose qcow2 header (when declared qcow2) gives the same virtual size; an inactive disk's
   * block info is libvirt's test driver's fixed figures, as a running one's.
   */
  storageAccess(): BlockStorageAccess {
    return {
      readStorage: (path) => {
        try {
          return Promise.resolve(testStorage(path));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      // libvirt's test driver answers the running figures for an inactive domain too.
      inactiveBlockInfo: (source) => {
        try {
          testStorage(source.path);
        } catch (error) {
          return Promise.reject(error);
        }
        return Promise.resolve({
          capacityBytes: TEST_DISK_CAPACITY_BYTES,
          allocationBytes: TEST_DISK_BYTES,
          physicalBytes: TEST_DISK_BYTES,
        });
      },
      readQcow2Header: async (path) => {
        testStorage(path);
        return await Promise.resolve({
          version: 3,
          clusterBits: 16,
          virtualSizeBytes: TEST_DISK_CAPACITY_BYTES,
          hasBackingFile: false,
          encrypted: false,
          headerBytes: 104,
        });
      },
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

  /** libvirt's test driver's guests: hvm and xen on i686, run by `/usr/bin/test-hv`. */
  guests(): Promise<GuestCapability[]> {
    return Promise.resolve([...TEST_GUESTS]);
  }

  /** libvirt's test driver's host: i686, two NUMA cells of eight CPUs. */
  hostCapability(): HostCapability {
    return TEST_HOST_CAPABILITY;
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
    instance.ranNs = this.#ranNs(instance);
    instance.running = false;
    instance.runningSinceMs = undefined;
  }

  /** Wall time the instance's CPUs have run, in ns: monotonic, frozen while paused. */
  #ranNs(instance: Instance): number {
    const sinceMs = instance.runningSinceMs;
    return instance.ranNs + (sinceMs === undefined ? 0 : (this.#now() - sinceMs) * 1_000_000);
  }

  /** libvirt's test driver's vCPUs: each on the last host CPU, its time from the clock. */
  #vcpus(instance: Instance, _ranNs: number): VcpuSample[] {
    const cpus = TEST_NODE_INFO.cpus;
    const affinity = Array.from({ length: cpus }, (_, cpu) => cpu);
    const timeNs = Math.floor(this.#now() * 1000 / TEST_VCPU_TIME_DIVISOR);
    return Array.from({ length: instance.vcpus }, (_, number) => ({
      number,
      state: 1,
      timeNs,
      waitNs: Math.floor(timeNs / 100),
      hostCpu: cpus - 1,
      affinity,
    }));
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

function alreadyRunning(name: string): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_FAILED,
    `domain '${name}' already has a running instance`,
  );
}
