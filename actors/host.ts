/**
 * The host actor: the registry of domains (unique names and uuids, ids), recovery from the log,
 * reconciliation with the drivers, autostart, snapshots, and the routing of every command to its
 * domain's actor.
 *
 * Recovery is pure: the latest snapshot is restored, the facts after it are folded with XState's
 * `transition()`, and only then is each driver asked where its instances really are; where reality
 * differs from the log, corrective facts are appended. Running instances are never stopped
 * because the service restarted.
 *
 * @module
 */

import { initialTransition } from "xstate";
import type { EventStore } from "../src/log/event_store.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { type DomainFact, isDomainFactType, uuidOfStream } from "../src/model/facts.ts";
import { DomainState, type DomainStateValue } from "../src/model/lifecycle.ts";
import {
  type AppliedFact,
  DomainActor,
  type JobContext,
  ObservationQueueFullError,
} from "./domain_actor.ts";
import * as commands from "./domain_commands.ts";
import {
  type DomainContext,
  domainMachine,
  type DomainSnapshot,
  exists,
  isActive,
  pausedReasonNumber,
  stateOf,
  statePath,
} from "./domain_machine.ts";
import type {
  DomainHandle,
  Driver,
  Observation,
  Reality,
  SecurityDescription,
} from "./driver_protocol.ts";
import { SAMPLE_OBSERVATION_KINDS } from "../src/model/observation.ts";

/** How long a command waits in a busy domain's queue unless its caller says otherwise. */
export const COMMAND_QUEUE_TIMEOUT_MS_DEFAULT = 10_000;

/** Facts appended between two automatic snapshots. */
export const SNAPSHOT_EVERY_FACTS_DEFAULT = 50_000;

/** Facts read per page during recovery. */
const RECOVERY_PAGE_FACTS = 10_000;

/** Domains reconciled at once after recovery. */
const RECONCILE_CONCURRENCY_MAX = 16;

/** How long a reconcile probe may take per domain. */
const RECONCILE_TIMEOUT_MS = 10_000;

/** Version of the snapshot state's JSON form. */
const SNAPSHOT_FORMAT = 1;

/** Options of {@linkcode Host.open}. */
export interface HostOptions {
  /** The event log. */
  store: EventStore;
  /** Every driver the service hosts; a domain's `type` picks one. */
  drivers: Driver[];
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Facts between automatic snapshots; 0 disables them. Default {@linkcode SNAPSHOT_EVERY_FACTS_DEFAULT}. */
  snapshotEveryFacts?: number;
  /** Start autostart domains that are shut off, once recovery is done. Default false. */
  autostart?: boolean;
  /** Where operational messages go (reconcile results, background failures). Default: stderr. */
  log?: (message: string) => void;
}

/** Options every command takes. */
export interface CommandOptions {
  /** How long to wait for a busy domain, in ms. Default {@linkcode COMMAND_QUEUE_TIMEOUT_MS_DEFAULT}. */
  queueTimeoutMs?: number;
  /** Abandons the wait when aborted. */
  signal?: AbortSignal;
}

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
  "autostart",
  "noAutostart",
];

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

/** What reads of a domain's live figures (block info, statistics) start from. */
export interface DomainInspection {
  summary: DomainSummary;
  /** The definition in effect: the live one while active, else the persistent one. */
  definition: DomainDefinition;
  /** The persistent definition, or null for a transient domain. */
  persistentDefinition: DomainDefinition | null;
  /** The driver of the domain's type; undefined when this host runs none for it. */
  driver: Driver | undefined;
  /** The running instance, while the domain is active. */
  handle: DomainHandle | undefined;
}

/**
 * The host actor.
 *
 * @example
 * ```ts ignore
 * const host = await Host.open({ store, drivers: [new TestDriver()] });
 * const { uuid } = await host.define(definition);
 * await host.start(uuid);
 * ```
 */
export class Host {
  readonly #store: EventStore;
  readonly #drivers: Map<string, Driver>;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #snapshotEveryFacts: number;
  readonly #actors = new Map<string, DomainActor>();
  readonly #byName = new Map<string, string>();
  readonly #byId = new Map<number, string>();
  readonly #idOfUuid = new Map<string, number>();
  /** Names claimed by a define or create whose fact is not yet durable. */
  readonly #reservedNames = new Map<string, string>();
  readonly #deadlineTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #appliedListeners = new Set<(uuid: string, applied: AppliedFact[]) => void>();
  #nextId = 1;
  #closed = false;
  /** Watermark bookkeeping: snapshots are only taken over a gapless applied prefix. */
  #baselinePosition = 0;
  #appliedSinceBaseline = 0;
  #maxAppliedPosition = 0;
  #factsSinceSnapshot = 0;
  #snapshotPending = false;
  readonly #env: commands.CommandEnvironment;

  private constructor(options: HostOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? ((message) => console.error(`evirt: ${message}`));
    this.#snapshotEveryFacts = options.snapshotEveryFacts ?? SNAPSHOT_EVERY_FACTS_DEFAULT;
    this.#drivers = new Map();
    for (const driver of options.drivers) {
      for (const type of driver.domainTypes) this.#drivers.set(type, driver);
    }
    this.#env = {
      driverFor: (definition) => this.driverFor(definition),
      allocateId: () => this.#nextId++,
      sink: (uuid, observation) => this.#observe(uuid, observation),
      now: this.#now,
      armDeadline: (uuid, atMs) => this.#armDeadline(uuid, atMs),
    };
  }

  /**
   * Recovers the host from the log (snapshot, then the facts after it), reconciles every active
   * domain with its driver, re-arms deadlines, and runs autostart if asked.
   */
  static async open(options: HostOptions): Promise<Host> {
    const host = new Host(options);
    await host.#recover();
    await host.#reconcileAll();
    if (options.autostart) await host.#autostart();
    return host;
  }

  /** The driver for a definition's type. */
  driverFor(definition: DomainDefinition): Driver {
    const driver = this.#drivers.get(definition.type);
    if (driver === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `domain type '${definition.type}' is not supported by this host (drivers: ${
          [...new Set(this.#drivers.values())].map((each) => each.name).join(", ")
        })`,
        { where: "/domain/@type" },
      );
    }
    return driver;
  }

  /** Every driver the host runs. */
  get drivers(): Driver[] {
    return [...new Set(this.#drivers.values())];
  }

  /** The event log. */
  get store(): EventStore {
    return this.#store;
  }

  /** Is told of every batch of facts once applied (used for projections and waits). */
  onApplied(listener: (uuid: string, applied: AppliedFact[]) => void): () => void {
    this.#appliedListeners.add(listener);
    return () => this.#appliedListeners.delete(listener);
  }

  /** Domains matching `filter`, sorted as virsh lists them: active by id, then inactive by name. */
  list(filter: ListFilter = {}): DomainSummary[] {
    const summaries: DomainSummary[] = [];
    for (const actor of this.#actors.values()) {
      if (!exists(actor.snapshot)) continue;
      const summary = summarize(actor.snapshot);
      if (matches(summary, filter)) summaries.push(summary);
    }
    return summaries.sort((a, b) => {
      if (a.id !== null && b.id !== null) return a.id - b.id;
      if (a.id !== null) return -1;
      if (b.id !== null) return 1;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  }

  /**
   * Finds a domain by name, uuid or id (as virsh does: an all-digit reference is an id first).
   *
   * @throws {VirtError} Code 42 when there is none.
   */
  lookup(reference: string): DomainSummary {
    return summarize(this.#actorOf(reference).snapshot);
  }

  /** A domain's snapshot context (definitions, runtime) by reference. */
  context(reference: string): DomainContext {
    return this.#actorOf(reference).snapshot.context;
  }

  /** The uuid of the domain with `name`, or undefined. */
  uuidOfName(name: string): string | undefined {
    return this.#byName.get(name);
  }

  /** The last name a uuid had (kept after undefine, for old events). */
  nameOfUuid(uuid: string): string | undefined {
    return this.#actors.get(uuid)?.snapshot.context.name;
  }

  /** `dominfo`'s figures. */
  info(reference: string): DomainInfo {
    const { summary, definition, driver, handle } = this.inspect(reference);
    const live = handle === undefined ? undefined : driver?.info(handle);
    const description = driver?.describe?.(definition, handle !== undefined) ?? {};
    return {
      ...summary,
      type: definition.type,
      maxMemoryKiB: definition.memoryKiB,
      memoryKiB: live?.memoryKiB ?? definition.currentMemoryKiB ?? definition.memoryKiB,
      vcpus: definition.vcpu?.current ?? Math.max(1, definition.vcpus),
      cpuTimeNs: description.cpuTimeNs ?? live?.cpuTimeNs ?? 0,
      ...(description.osType === undefined ? {} : { osType: description.osType }),
      ...(description.security === undefined ? {} : { security: description.security }),
    };
  }

  /**
   * What reads of a domain's live figures need, without waiting on its queue: its summary,
   * definitions, driver and (while active) its instance's handle.
   *
   * @throws {VirtError} Code 42 when there is no such domain.
   */
  inspect(reference: string): DomainInspection {
    const snapshot = this.#actorOf(reference).snapshot;
    const { context } = snapshot;
    const definition = context.live ?? context.definition;
    if (definition === null) throw new Error(`Domain ${context.uuid} has no definition`);
    const active = isActive(snapshot) && context.runtime !== null && context.id !== null;
    return {
      summary: summarize(snapshot),
      definition,
      persistentDefinition: context.definition,
      driver: this.#drivers.get(definition.type),
      handle: active ? commands.handleOf(snapshot) : undefined,
    };
  }

  /**
   * The host path of a running domain's text console (a pty).
   *
   * @throws {VirtError} Code 55 when the domain is not running, 9 when it has no pty console.
   */
  consolePath(reference: string, device?: string): string {
    const { summary, definition, handle } = this.inspect(reference);
    if (handle === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    const path = this.driverFor(definition).consolePath?.(handle, device);
    if (path === undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        device === undefined
          ? `domain '${summary.name}' has no pty console`
          : `character device '${device}' of domain '${summary.name}' is not a pty`,
      );
    }
    return path;
  }

  /**
   * Defines (or redefines) a persistent domain, following libvirt's rules: a new name adds it; the
   * same name and uuid updates it; a name taken by another uuid, or a uuid taken by another name,
   * is refused (code 9).
   */
  async define(
    definition: DomainDefinition,
    options: CommandOptions = {},
  ): Promise<{ uuid: string; detail: "added" | "updated" }> {
    return await this.#claiming(definition, async (uuid, actor) => {
      const detail = await actor.run(
        "define",
        this.#runOptions(options),
        (job) => commands.define(job, definition),
      );
      return { uuid, detail };
    });
  }

  /**
   * Creates and starts a transient domain (no persistent definition), as `virsh create`. An
   * existing inactive domain of the same name and uuid is started with this definition instead.
   */
  async create(
    definition: DomainDefinition,
    options: CommandOptions & { paused?: boolean } = {},
  ): Promise<{ uuid: string }> {
    return await this.#claiming(definition, async (uuid, actor) => {
      await actor.run("create", this.#runOptions(options), async (job) => {
        if (isActive(job.snapshot)) {
          throw new VirtError(
            ErrorCode.OPERATION_INVALID,
            `domain '${definition.name}' is already active`,
          );
        }
        await commands.start(job, this.#env, { paused: options.paused ?? false, definition });
      });
      return { uuid };
    });
  }

  /**
   * Runs `work` on the actor of a new or existing definition's uuid while its name is claimed:
   * refuses a closed host, a definition without a uuid, one its driver cannot run, and a name or
   * uuid taken by another domain, all before anything is queued.
   */
  async #claiming<T>(
    definition: DomainDefinition,
    work: (uuid: string, actor: DomainActor) => Promise<T>,
  ): Promise<T> {
    this.#assertOpen();
    const uuid = requireUuid(definition);
    this.driverFor(definition).check(definition);
    const release = this.#reserve(definition.name, uuid);
    try {
      return await work(uuid, this.#actorFor(uuid));
    } finally {
      release();
    }
  }

  /** Removes a domain's persistent definition (an active one continues as transient). */
  undefine(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.#command(
      reference,
      "undefine",
      options,
      (job) => commands.undefine(job, this.#env),
    );
  }

  /** Starts a defined domain, optionally with its CPUs paused. */
  start(reference: string, options: CommandOptions & { paused?: boolean } = {}): Promise<void> {
    return this.#command(
      reference,
      "start",
      options,
      (job) => commands.start(job, this.#env, { paused: options.paused ?? false }),
    );
  }

  /** Asks the guest to shut down; with `timeoutMs`, destroys it if still active by then. */
  shutdown(
    reference: string,
    options: CommandOptions & { timeoutMs?: number } = {},
  ): Promise<void> {
    return this.#command(
      reference,
      "shutdown",
      options,
      (job) => commands.shutdown(job, this.#env, { timeoutMs: options.timeoutMs }),
    );
  }

  /** Ends a domain's instance now. */
  destroy(reference: string, options: CommandOptions & { graceful?: boolean } = {}): Promise<void> {
    return this.#command(
      reference,
      "destroy",
      options,
      (job) => commands.destroy(job, this.#env, { graceful: options.graceful ?? false }),
    );
  }

  /** Asks the guest to reboot. */
  reboot(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.#command(reference, "reboot", options, (job) => commands.reboot(job, this.#env));
  }

  /** Resets the guest now. */
  reset(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.#command(reference, "reset", options, (job) => commands.reset(job, this.#env));
  }

  /** Stops the domain's CPUs. */
  suspend(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.#command(reference, "suspend", options, (job) => commands.suspend(job, this.#env));
  }

  /** Runs the domain's CPUs again. */
  resume(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.#command(reference, "resume", options, (job) => commands.resume(job, this.#env));
  }

  /** Switches autostart. */
  setAutostart(reference: string, autostart: boolean, options: CommandOptions = {}): Promise<void> {
    return this.#command(
      reference,
      "autostart",
      options,
      (job) => commands.setAutostart(job, this.#env, autostart),
    );
  }

  /** Sets the title, description or a metadata element. */
  setMetadata(
    reference: string,
    change: Parameters<typeof commands.setMetadata>[1],
    scope: commands.MetadataScope,
    options: CommandOptions = {},
  ): Promise<void> {
    return this.#command(
      reference,
      "metadata",
      options,
      (job) => commands.setMetadata(job, change, scope),
    );
  }

  /**
   * Resolves once `predicate` holds for the domain's summary (checked after every fact), or
   * rejects with code 68 after `timeoutMs`. A domain that vanishes resolves with undefined.
   */
  waitFor(
    uuid: string,
    predicate: (summary: DomainSummary) => boolean,
    timeoutMs: number,
  ): Promise<DomainSummary | undefined> {
    const check = (): { done: boolean; summary?: DomainSummary } => {
      const actor = this.#actors.get(uuid);
      if (actor === undefined || !exists(actor.snapshot)) return { done: true };
      const summary = summarize(actor.snapshot);
      return { done: predicate(summary), summary };
    };
    const first = check();
    if (first.done) return Promise.resolve(first.summary);
    return new Promise((resolve, reject) => {
      const stop = this.onApplied((applied) => {
        if (applied !== uuid) return;
        const now = check();
        if (!now.done) return;
        clearTimeout(timer);
        stop();
        resolve(now.summary);
      });
      const timer = setTimeout(() => {
        stop();
        reject(
          new VirtError(
            ErrorCode.OPERATION_TIMEOUT,
            `timed out after ${timeoutMs} ms waiting for the domain`,
          ),
        );
      }, timeoutMs);
    });
  }

  /** Resolves once every domain's queue is empty (tests, orderly shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#actors.values()].map((actor) => actor.idle()));
    await Promise.allSettled([...this.#background]);
  }

  /** Saves a snapshot now if the applied facts form a gapless prefix of the log. */
  async saveSnapshot(): Promise<boolean> {
    const position = this.#maxAppliedPosition;
    const gapless = position - this.#baselinePosition === this.#appliedSinceBaseline;
    if (!gapless) return false;
    const domains = [...this.#actors.values()].map((actor) => ({
      uuid: actor.uuid,
      version: actor.version,
      state: statePath(actor.snapshot),
      context: actor.snapshot.context,
    }));
    const state = { format: SNAPSHOT_FORMAT, nextId: this.#nextId, domains };
    await this.#store.saveSnapshot({ position, state: state as never });
    this.#factsSinceSnapshot = 0;
    return true;
  }

  /**
   * Stops the host: refuses new commands, lets running jobs finish, saves a snapshot, and releases
   * the drivers. Running instances keep running.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#deadlineTimers.values()) clearTimeout(timer);
    this.#deadlineTimers.clear();
    await Promise.all([...this.#actors.values()].map((actor) => actor.idle()));
    await Promise.allSettled([...this.#background]);
    for (const actor of this.#actors.values()) actor.close();
    if (this.#factsSinceSnapshot > 0) {
      await this.saveSnapshot().catch((error) =>
        this.#log(`could not save a snapshot at close: ${(error as Error).message}`)
      );
    }
    for (const driver of this.drivers) await driver.close();
  }

  // --- registry -------------------------------------------------------------------------------

  #actorOf(reference: string): DomainActor {
    let uuid: string | undefined;
    let what: string;
    if (/^[0-9]+$/.test(reference)) {
      uuid = this.#byId.get(Number(reference));
      what = `id ${reference}`;
    } else {
      what = `name '${reference}'`;
    }
    uuid ??= this.#byName.get(reference);
    if (uuid === undefined) {
      const normalized = normalizeUuid(reference);
      if (normalized !== undefined) {
        uuid = normalized;
        what = `uuid '${reference}'`;
      }
    }
    const actor = uuid === undefined ? undefined : this.#actors.get(uuid);
    if (actor === undefined || !exists(actor.snapshot)) {
      throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching ${what}`);
    }
    return actor;
  }

  #actorFor(uuid: string): DomainActor {
    let actor = this.#actors.get(uuid);
    if (actor === undefined) {
      const [snapshot] = initialTransition(domainMachine, { uuid });
      actor = this.#newActor(uuid, snapshot, 0);
    }
    return actor;
  }

  #newActor(uuid: string, snapshot: DomainSnapshot, version: number): DomainActor {
    const actor = new DomainActor({
      uuid,
      store: this.#store,
      snapshot,
      version,
      now: this.#now,
      onApplied: (changed, applied) => this.#applied(changed, applied),
    });
    this.#actors.set(uuid, actor);
    return actor;
  }

  /**
   * Claims `name` for `uuid` until the returned release is called, applying libvirt's rules.
   *
   * @throws {VirtError} Code 9 when the name belongs to another uuid or the uuid to another name.
   */
  #reserve(name: string, uuid: string): () => void {
    const owner = this.#byName.get(name) ?? this.#reservedNames.get(name);
    if (owner !== undefined && owner !== uuid) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `domain '${name}' already exists with uuid ${owner}`,
      );
    }
    const existing = this.#actors.get(uuid);
    if (existing !== undefined && exists(existing.snapshot)) {
      const current = existing.snapshot.context.name;
      if (current !== name) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `domain '${current}' is already defined with uuid ${uuid}`,
        );
      }
    }
    for (const [reservedName, reservedUuid] of this.#reservedNames) {
      if (reservedUuid === uuid && reservedName !== name) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `domain '${reservedName}' is already being defined with uuid ${uuid}`,
        );
      }
    }
    if (this.#reservedNames.has(name)) return () => {};
    this.#reservedNames.set(name, uuid);
    return () => this.#reservedNames.delete(name);
  }

  #applied(actor: DomainActor, applied: AppliedFact[]): void {
    for (const { position, fact } of applied) {
      this.#index(actor, fact);
      this.#appliedSinceBaseline++;
      if (position > this.#maxAppliedPosition) this.#maxAppliedPosition = position;
    }
    this.#factsSinceSnapshot += applied.length;
    for (const listener of this.#appliedListeners) listener(actor.uuid, applied);
    if (
      this.#snapshotEveryFacts > 0 && this.#factsSinceSnapshot >= this.#snapshotEveryFacts &&
      !this.#snapshotPending
    ) {
      this.#snapshotPending = true;
      this.#track(
        new Promise((resolve) => setTimeout(resolve, 0)).then(() => this.saveSnapshot()).catch(
          (error) => this.#log(`snapshot failed: ${(error as Error).message}`),
        ).finally(() => this.#snapshotPending = false),
      );
    }
  }

  /** Keeps the name and id indexes in step with one fact (already applied to the actor). */
  #index(actor: DomainActor, fact: DomainFact): void {
    const { context } = actor.snapshot;
    switch (fact.type) {
      case "domain.defined":
        this.#byName.set(context.name, actor.uuid);
        break;
      case "domain.launched":
        this.#byName.set(context.name, actor.uuid);
        this.#byId.set(fact.body.id, actor.uuid);
        this.#idOfUuid.set(actor.uuid, fact.body.id);
        if (fact.body.id >= this.#nextId) this.#nextId = fact.body.id + 1;
        break;
      case "domain.stopped":
      case "domain.undefined": {
        const id = this.#idOfUuid.get(actor.uuid);
        if (id !== undefined && context.id !== id) {
          this.#byId.delete(id);
          this.#idOfUuid.delete(actor.uuid);
        }
        if (!exists(actor.snapshot) && this.#byName.get(context.name) === actor.uuid) {
          this.#byName.delete(context.name);
        }
        break;
      }
      default:
        break;
    }
  }

  // --- commands -------------------------------------------------------------------------------

  #command(
    reference: string,
    name: string,
    options: CommandOptions,
    work: (job: JobContext) => Promise<void>,
  ): Promise<void> {
    try {
      this.#assertOpen();
      return this.#actorOf(reference).run(name, this.#runOptions(options), work);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #runOptions(options: CommandOptions): { queueTimeoutMs: number; signal?: AbortSignal } {
    return {
      queueTimeoutMs: options.queueTimeoutMs ?? COMMAND_QUEUE_TIMEOUT_MS_DEFAULT,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new VirtError(ErrorCode.OPERATION_ABORTED, "the service is stopping");
    }
  }

  #observe(uuid: string, observation: Observation): void {
    const actor = this.#actors.get(uuid);
    if (actor === undefined || this.#closed) return;
    // A value reported again replaces one still waiting: only the latest balloon size matters.
    const coalesceKey = SAMPLE_OBSERVATION_KINDS.has(observation.kind)
      ? observation.kind
      : undefined;
    this.#track(
      actor.run(
        `observe ${observation.kind}`,
        { kind: "observation", ...(coalesceKey === undefined ? {} : { coalesceKey }) },
        (job) => commands.observe(job, this.#env, observation),
      ).catch((error) => {
        const name = actor.snapshot.context.name;
        this.#log(`domain ${name}: ${observation.kind}: ${(error as Error).message}`);
        // Never lose a lifecycle change silently: reality is read again once the queue drains.
        if (error instanceof ObservationQueueFullError) this.#track(this.#resync(actor));
      }),
    );
  }

  #armDeadline(uuid: string, atMs: number): void {
    const existing = this.#deadlineTimers.get(uuid);
    if (existing !== undefined) clearTimeout(existing);
    const delayMs = Math.max(0, atMs - this.#now());
    const timer = setTimeout(() => {
      this.#deadlineTimers.delete(uuid);
      const actor = this.#actors.get(uuid);
      if (actor === undefined || this.#closed) return;
      this.#track(
        actor.run(
          "deadline",
          { kind: "observation" },
          (job) => commands.expireDeadline(job, this.#env),
        ).catch((error) => this.#log(`deadline of ${uuid}: ${(error as Error).message}`)),
      );
    }, delayMs);
    this.#deadlineTimers.set(uuid, timer);
  }

  #track(promise: Promise<unknown>): void {
    this.#background.add(promise);
    promise.finally(() => this.#background.delete(promise));
  }

  // --- recovery ---------------------------------------------------------------------------------

  async #recover(): Promise<void> {
    const snapshot = await this.#store.loadSnapshot();
    let position = 0;
    if (snapshot !== undefined) {
      position = snapshot.position;
      this.#restore(snapshot.state as unknown as SnapshotState);
    }
    for (;;) {
      const facts = await this.#store.readAll({
        afterPosition: position,
        limit: RECOVERY_PAGE_FACTS,
      });
      if (facts.length === 0) break;
      for (const stored of facts) {
        position = stored.position;
        const uuid = uuidOfStream(stored.stream);
        if (uuid === undefined || !isDomainFactType(stored.type)) continue;
        const actor = this.#actorFor(uuid);
        const fact = { type: stored.type, body: stored.body } as DomainFact;
        actor.replay(fact, stored.version);
        this.#index(actor, fact);
      }
    }
    this.#baselinePosition = position;
    this.#maxAppliedPosition = position;
    this.#appliedSinceBaseline = 0;
    this.#factsSinceSnapshot = position - (snapshot?.position ?? 0);
  }

  #restore(state: SnapshotState): void {
    if (state.format !== SNAPSHOT_FORMAT) {
      throw new Error(`Unknown snapshot format ${state.format}`);
    }
    this.#nextId = state.nextId;
    for (const domain of state.domains) {
      const value = domain.state.includes(".")
        ? { [domain.state.split(".")[0]]: domain.state.split(".")[1] }
        : domain.state;
      const snapshot = domainMachine.resolveState({ value, context: domain.context });
      this.#newActor(domain.uuid, snapshot, domain.version);
      const { context } = snapshot;
      if (exists(snapshot)) this.#byName.set(context.name, domain.uuid);
      if (context.id !== null) {
        this.#byId.set(context.id, domain.uuid);
        this.#idOfUuid.set(domain.uuid, context.id);
      }
    }
  }

  async #reconcileAll(): Promise<void> {
    const active = [...this.#actors.values()].filter((actor) => isActive(actor.snapshot));
    for (let index = 0; index < active.length; index += RECONCILE_CONCURRENCY_MAX) {
      const batch = active.slice(index, index + RECONCILE_CONCURRENCY_MAX);
      await Promise.all(batch.map((actor) => this.#reconcile(actor)));
    }
    for (const actor of this.#actors.values()) {
      const { deadline } = actor.snapshot.context;
      if (deadline !== null && isActive(actor.snapshot)) {
        this.#armDeadline(actor.uuid, deadline.atMs);
      }
    }
  }

  async #reconcile(actor: DomainActor): Promise<void> {
    const { context } = actor.snapshot;
    const definition = context.live;
    if (definition === null) return;
    const driver = this.#drivers.get(definition.type);
    if (driver === undefined) {
      this.#log(
        `domain ${context.name}: no '${definition.type}' driver here; left as recorded, unwatched`,
      );
      return;
    }
    try {
      await actor.run("reconcile", { kind: "recovery" }, async (job) => {
        const handle = commands.handleOf(job.snapshot);
        const reality = await driver.probe(handle, AbortSignal.timeout(RECONCILE_TIMEOUT_MS));
        await this.#correct(job, driver, handle, reality);
        if (isActive(job.snapshot)) driver.watch(commands.handleOf(job.snapshot), this.#env.sink);
      });
    } catch (error) {
      this.#log(`domain ${context.name}: reconcile failed: ${(error as Error).message}`);
    }
  }

  /**
   * Brings a watched domain's record back in line with its driver after observations were
   * refused: once the observations queued before it have run, asks the driver where the
   * instance is and appends what the record misses. At most one waits per domain.
   */
  async #resync(actor: DomainActor): Promise<void> {
    const name = actor.snapshot.context.name;
    this.#log(`domain ${name}: observations were refused; re-reading it from its driver`);
    try {
      await actor.run("resync", { kind: "recovery" }, async (job) => {
        if (!isActive(job.snapshot)) return;
        const handle = commands.handleOf(job.snapshot);
        const driver = this.#env.driverFor(handle.definition);
        if (driver.status === undefined) return;
        const reality = await driver.status(handle, AbortSignal.timeout(RECONCILE_TIMEOUT_MS));
        await this.#correct(job, driver, handle, reality);
      });
    } catch (error) {
      this.#log(`domain ${name}: resync failed: ${(error as Error).message}`);
    }
  }

  /** Appends the facts that bring the record in line with what the driver found. */
  async #correct(
    job: JobContext,
    driver: Driver,
    handle: DomainHandle,
    reality: Reality,
  ): Promise<void> {
    const path = statePath(job.snapshot);
    const name = job.snapshot.context.name;
    switch (reality.kind) {
      case "as_recorded":
        if (path === "active.starting") await this.#abandonStart(job, driver, handle);
        return;
      case "gone":
        this.#log(`domain ${name}: its process is gone; recording it as stopped`);
        await commands.observe(job, this.#env, { kind: "stopped", reason: "crashed" });
        return;
      case "running":
        if (path === "active.starting") {
          await job.append([{
            type: "domain.started",
            body: { detail: "booted", reason: "booted" },
          }]);
        } else if (path !== "active.running") {
          await commands.observe(job, this.#env, { kind: "resumed" });
        }
        return;
      case "paused":
        if (path === "active.starting") {
          await this.#abandonStart(job, driver, handle);
        } else if (
          path !== "active.paused" ||
          stateOf(job.snapshot).reason !== pausedReasonNumber(reality.reason)
        ) {
          await commands.observe(job, this.#env, { kind: "paused", reason: reality.reason });
        }
        return;
      case "shutdown":
        await commands.observe(job, this.#env, { kind: "shutdown", detail: "finished" });
        return;
      case "crashed":
        await commands.observe(job, this.#env, { kind: "crashed", detail: "panicked" });
        return;
    }
  }

  /**
   * Ends an instance whose start the service never finished: its caller was never told it
   * succeeded, so the start is rolled back (STOPPED/failed).
   */
  async #abandonStart(job: JobContext, driver: Driver, handle: DomainHandle): Promise<void> {
    this.#log(`domain ${handle.name}: its start was interrupted; ending the instance`);
    await driver.terminate(handle, { graceful: false }, job.signal);
    driver.unwatch(handle.uuid);
    await job.append([{ type: "domain.stopped", body: { detail: "failed", reason: "failed" } }]);
  }

  async #autostart(): Promise<void> {
    for (const actor of [...this.#actors.values()]) {
      const { context } = actor.snapshot;
      if (!context.autostart || statePath(actor.snapshot) !== "shutoff") continue;
      try {
        await this.start(actor.uuid);
        this.#log(`domain ${context.name}: autostarted`);
      } catch (error) {
        this.#log(`domain ${context.name}: autostart failed: ${(error as Error).message}`);
      }
    }
  }
}

interface SnapshotState {
  format: number;
  nextId: number;
  domains: { uuid: string; version: number; state: string; context: DomainContext }[];
}

function summarize(snapshot: DomainSnapshot): DomainSummary {
  const { context } = snapshot;
  const { state, reason } = stateOf(snapshot);
  return {
    uuid: context.uuid,
    name: context.name,
    id: context.id,
    state,
    reason,
    persistent: context.persistent,
    autostart: context.autostart,
    active: isActive(snapshot),
  };
}

function matches(summary: DomainSummary, filter: ListFilter): boolean {
  const pairs: [boolean | undefined, boolean | undefined, boolean][] = [
    [filter.active, filter.inactive, summary.active],
    [filter.persistent, filter.transient, summary.persistent],
    [filter.autostart, filter.noAutostart, summary.autostart],
  ];
  for (const [yes, no, value] of pairs) {
    if ((yes || no) && !((yes && value) || (no && !value))) return false;
  }
  const wantsState = filter.running || filter.paused || filter.shutoff || filter.other;
  if (wantsState) {
    const state = summary.state;
    const ok = (filter.running && state === DomainState.RUNNING) ||
      (filter.paused && state === DomainState.PAUSED) ||
      (filter.shutoff && state === DomainState.SHUTOFF) ||
      (filter.other && state !== DomainState.RUNNING && state !== DomainState.PAUSED &&
        state !== DomainState.SHUTOFF);
    if (!ok) return false;
  }
  return true;
}

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A uuid in libvirt's canonical form (lower case, dashed), or undefined when not a uuid. */
export function normalizeUuid(text: string): string | undefined {
  const compact = text.trim().replaceAll("-", "").toLowerCase();
  if (!UUID_PATTERN.test(text.trim()) || compact.length !== 32) return undefined;
  return `${compact.slice(0, 8)}-${compact.slice(8, 12)}-${compact.slice(12, 16)}-${
    compact.slice(16, 20)
  }-${compact.slice(20)}`;
}

function requireUuid(definition: DomainDefinition): string {
  const uuid = definition.uuid === undefined ? undefined : normalizeUuid(definition.uuid);
  if (uuid === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "definition has no valid uuid: apply the define-time defaults first",
      { where: "/domain/uuid" },
    );
  }
  return uuid;
}
