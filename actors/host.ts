/**
 * The host actor: the composition of the host's parts, and the door every command comes through.
 *
 * Each responsibility lives in its own module: the registry of domains and their names and ids
 * (`domain_registry.ts`), recovery from the log (`host_recovery.ts`), snapshots
 * (`host_snapshots.ts`), reconciliation with the drivers (`reconcile.ts`), autostart
 * (`autostart.ts`), the routing of driver observations and deadlines (`observation_router.ts`),
 * the dispatch of domain commands (`domain_dispatch.ts`) and list filters
 * (`src/model/domain_list.ts`). `Host` wires them together, claims names for define and create,
 * and answers reads. (A little over 400 lines: the typed public surface every door uses, each
 * member a few lines over the module that does the work.)
 *
 * Recovery is pure: the latest snapshot is restored, the facts after it are folded with XState's
 * `transition()`, and only then is each driver asked where its instances really are; where
 * reality differs from the log, corrective facts are appended. Running instances are never
 * stopped because the service restarted.
 *
 * @module
 */

import { awaitRemovals, type DeviceCommand } from "./device_commands.ts";
import { usesVolume, type VolumeResolver } from "./volume_disks.ts";
import {
  type NetworkPortBinder,
  type NetworkResolver,
  portsNamedBy,
  reconcileNetworkPorts,
} from "./network_interfaces.ts";
import type { EventStore } from "../src/log/event_store.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import {
  type DomainInfo,
  type DomainSummary,
  type ListFilter,
  normalizeUuid,
} from "../src/model/domain_list.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { type AppliedFact, DomainActor, type JobContext } from "./domain_actor.ts";
import * as commands from "./domain_commands.ts";
import type { RestoreImage } from "./domain_commands.ts";
import { type CommandOptions, DomainCommandMethods } from "./domain_command_methods.ts";
import { awaitBlockJobEnd } from "./block_job_commands.ts";
import { BlockJobAbortFlag, blockJobDiskIndex } from "../src/model/block_jobs.ts";
import {
  DOMAIN_JOBS,
  type DomainCommandArguments,
  type DomainJobName,
  type DomainJobRunner,
} from "./domain_dispatch.ts";
import { type DomainContext, exists, isActive } from "./domain_machine.ts";
import {
  consolePathOf,
  domainInfoOf,
  type DomainInspection,
  inspectDomain,
} from "./domain_inspection.ts";
import { DomainRegistry, summarize } from "./domain_registry.ts";
import { waitForDomain } from "./domain_waits.ts";
import type {
  DomainHandle,
  Driver,
  MigrationDriver,
  MigrationProgress,
} from "./driver_protocol.ts";
import { autostartAll } from "./autostart.ts";
import { recoverFromLog } from "./host_recovery.ts";
import { SNAPSHOT_EVERY_FACTS_DEFAULT, SnapshotKeeper } from "./host_snapshots.ts";
import { ObservationRouter } from "./observation_router.ts";
import { reconcileAll, resync } from "./reconcile.ts";
import { endHeldStart, finishInterruptedJob } from "./held_facts_followup.ts";
import { HeldFactsRetry } from "./held_facts_retry.ts";
import { CompletedMigrations } from "./completed_migrations.ts";
import type { DomainFact } from "../src/model/facts.ts";
import { checkOwnLayoutArgs, checkSaveFlags, imageXml } from "./save_commands.ts";
import { definitionOfXml, type OwnSaveImageReader, readSaveImage } from "./save_images.ts";

export {
  type DomainInfo,
  type DomainSummary,
  LIST_FILTER_NAMES,
  type ListFilter,
  normalizeUuid,
} from "../src/model/domain_list.ts";
export { SNAPSHOT_EVERY_FACTS_DEFAULT } from "./host_snapshots.ts";
export type { DomainInspection } from "./domain_inspection.ts";
export type { CommandOptions } from "./domain_command_methods.ts";

/** How long a command waits in a busy domain's queue unless its caller says otherwise. */
export const COMMAND_QUEUE_TIMEOUT_MS_DEFAULT = 10_000;

/**
 * Which domains this host may act on, when it shares a fleet (see `src/service/fleet_domains.ts`);
 * a host without one owns every domain of its log.
 */
export interface DomainOwnership {
  /**
   * Refuses (throws) a command on a domain another host owns.
   *
   * @throws {VirtError} Code 87 naming the owner.
   */
  check(uuid: string, command: string): void;
  /**
   * Owns `uuid` for this host (kept when already owned) before its definition is recorded; the
   * returned function is called once the define or create is over (done or refused).
   *
   * @throws {VirtError} Code 87 when another host owns it; 9 when another host's domain has its name.
   */
  claim(uuid: string, name: string): Promise<() => void>;
}

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
  /** Where managed save images live; absent: managed save answers code 3. */
  managedSaveDir?: string;
}

/**
 * Facts after which an instance may hold fewer network ports: it is gone, or an interface was
 * unplugged.
 */
const PORT_RELEASES: ReadonlySet<string> = new Set([
  "domain.stopped",
  "domain.intent_abandoned",
  "domain.device_removed",
]);

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
export class Host extends DomainCommandMethods {
  readonly #store: EventStore;
  readonly #drivers: Map<string, Driver>;
  readonly #log: (message: string) => void;
  readonly #registry: DomainRegistry;
  readonly #router: ObservationRouter;
  readonly #snapshots: SnapshotKeeper;
  readonly #appliedListeners = new Set<(uuid: string, applied: AppliedFact[]) => void>();
  readonly #env: commands.CommandEnvironment;
  readonly #heldRetry: HeldFactsRetry;
  /** The last completed incoming migration of each domain (`domjobinfo --completed`). */
  readonly completedMigrations = new CompletedMigrations();
  #closed = false;
  #volumeResolver: VolumeResolver | undefined;
  #networkResolver: NetworkResolver | undefined;
  #networkPorts: NetworkPortBinder | undefined;
  #ownership: DomainOwnership | undefined;

  private constructor(options: HostOptions) {
    super();
    this.#store = options.store;
    const now = options.now ?? Date.now;
    this.#log = options.log ?? ((message) => console.error(`evirt: ${message}`));
    this.#drivers = new Map();
    for (const driver of options.drivers) {
      for (const type of driver.domainTypes) this.#drivers.set(type, driver);
    }
    this.#registry = new DomainRegistry((uuid, snapshot, version) =>
      new DomainActor({
        uuid,
        store: this.#store,
        snapshot,
        version,
        now,
        onApplied: (actor, applied) => this.#applied(actor, applied),
        onHeld: (holder) => this.#heldRetry.held(holder),
        // The job that held them stopped at the refused write: finish what it left undone.
        onHeldWritten: (holder, written) => this.#finishInterrupted(holder.uuid, written),
      })
    );
    const ports = () => this.#networkPorts;
    this.#heldRetry = new HeldFactsRetry({
      log: this.#log,
      nameOf: (uuid) => this.nameOfUuid(uuid) ?? uuid,
    });
    this.#router = new ObservationRouter({
      actorOf: (uuid) => this.#registry.get(uuid),
      commands: () => this.#env,
      now,
      log: this.#log,
      resync: (actor) =>
        resync(actor, {
          driverOfType: (type) => this.#drivers.get(type),
          commands: this.#env,
          log: this.#log,
        }),
    });
    this.#snapshots = new SnapshotKeeper({
      store: this.#store,
      registry: this.#registry,
      everyFacts: options.snapshotEveryFacts ?? SNAPSHOT_EVERY_FACTS_DEFAULT,
      track: (job) => this.#router.track(job),
      log: this.#log,
    });
    this.#env = {
      driverFor: (definition) => this.driverFor(definition),
      allocateId: () => this.#registry.allocateId(),
      sink: (uuid, observation) => this.#router.observe(uuid, observation),
      now,
      armDeadline: (uuid, atMs) => this.#router.armDeadline(uuid, atMs),
      claimNewName: (name, uuid) => this.#registry.claimNewName(name, uuid),
      resolveVolume: (pool, volume) => {
        if (this.#volumeResolver === undefined) {
          throw new VirtError(
            ErrorCode.CONFIG_UNSUPPORTED,
            `storage pool '${pool}' of volume '${volume}': this host has no storage pools`,
          );
        }
        return this.#volumeResolver(pool, volume);
      },
      resolveNetwork: (network) => {
        if (this.#networkResolver === undefined) {
          throw new VirtError(
            ErrorCode.CONFIG_UNSUPPORTED,
            `network '${network}': this host has no networks`,
          );
        }
        return this.#networkResolver(network);
      },
      get networkPorts() {
        return ports();
      },
      ...(options.managedSaveDir === undefined ? {} : { managedSaveDir: options.managedSaveDir }),
      log: this.#log,
    };
  }

  /**
   * Recovers the host from the log (snapshot, then the facts after it), reconciles every active
   * domain with its driver, re-arms deadlines, and runs autostart if asked.
   */
  static async open(options: HostOptions): Promise<Host> {
    const host = new Host(options);
    const { position, snapshotPosition } = await recoverFromLog(host.#store, host.#registry);
    host.#snapshots.recovered(position, snapshotPosition);
    await reconcileAll(host.#registry.actors(), {
      driverOfType: (type) => host.#drivers.get(type),
      commands: host.#env,
      log: host.#log,
    });
    for (const actor of host.#registry.actors()) {
      const { deadline } = actor.snapshot.context;
      if (deadline !== null && isActive(actor.snapshot)) {
        host.#router.armDeadline(actor.uuid, deadline.atMs);
      }
    }
    if (options.autostart) await host.autostart();
    return host;
  }

  /**
   * Starts the shut-off domains marked autostart (once per boot: `HostOptions.autostart` runs it
   * at open; a service that must first learn which domains it owns runs it after).
   *
   * @returns The names of the domains started.
   */
  autostart(): Promise<string[]> {
    return autostartAll(this.#registry.actors(), (uuid) => this.start(uuid), this.#log);
  }

  /** The driver for a definition's type. */
  driverFor(definition: DomainDefinition): Driver {
    const driver = this.#drivers.get(definition.type);
    if (driver === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `domain type '${definition.type}' is not supported by this host (drivers: ${
          this.drivers.map((each) => each.name).join(", ")
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
    return this.#registry.list(filter);
  }

  /**
   * Finds a domain by name, uuid or id (as virsh does: an all-digit reference is an id first).
   *
   * @throws {VirtError} Code 42 when there is none.
   */
  lookup(reference: string): DomainSummary {
    const actor = this.#registry.actorOf(reference);
    return summarize(actor.snapshot, actor.held);
  }

  /**
   * Gives the host the networks' bridges, for `<interface type='network'>` at start and
   * hotplug.
   */
  setNetworkResolver(resolver: NetworkResolver): void {
    this.#networkResolver = resolver;
  }

  /**
   * Gives the host the networks' ports: from then on every `<interface type='network'>` of a
   * starting guest gets a port on its network, released once the guest is gone.
   */
  setNetworkPorts(binder: NetworkPortBinder): void {
    this.#networkPorts = binder;
  }

  /**
   * Brings the networks' ports in line with the domains (after a restart: see
   * `reconcileNetworkPorts`); what it did goes to the log.
   */
  async reconcileNetworkPorts(): Promise<void> {
    const binder = this.#networkPorts;
    if (binder === undefined) return;
    const holders = this.#registry.actors().map((actor) => {
      const { uuid, name, live, intent } = actor.snapshot.context;
      const launching = intent?.kind === "launch" ? intent.definition : null;
      return {
        uuid,
        name,
        holds: commands.holdsNetworkPorts(actor.snapshot),
        definition: live ?? launching ?? null,
      };
    });
    for (const line of await reconcileNetworkPorts(holders, binder)) this.#log(line);
  }

  /**
   * Gives the host the fleet's ownership of domains: from then on a command on a domain another
   * host owns is refused, and a new definition is owned before it is recorded.
   */
  setOwnership(ownership: DomainOwnership): void {
    this.#ownership = ownership;
  }

  /** Gives the host the storage pools' volumes, for `<disk type='volume'>` at start. */
  setVolumeResolver(resolver: VolumeResolver): void {
    this.#volumeResolver = resolver;
  }

  /**
   * The names of the active domains whose running definition uses a pool's volume (as a
   * volume disk, or its path as a file or block disk).
   */
  domainsUsingVolume(pool: string, volume: string, path: string): string[] {
    return this.#registry.actors().filter((actor) => {
      const live = actor.snapshot.context.live;
      return live !== null && usesVolume(live, pool, volume, path);
    }).map((actor) => actor.snapshot.context.name);
  }

  /** A domain's snapshot context (definitions, runtime) by reference. */
  context(reference: string): DomainContext {
    return this.#registry.actorOf(reference).snapshot.context;
  }

  /** The uuid of the domain with `name`, or undefined. */
  uuidOfName(name: string): string | undefined {
    return this.#registry.uuidOfName(name);
  }

  /** The last name a uuid had (kept after undefine, for old events). */
  nameOfUuid(uuid: string): string | undefined {
    return this.#registry.get(uuid)?.snapshot.context.name;
  }

  /** `dominfo`'s figures. */
  info(reference: string): DomainInfo {
    return domainInfoOf(this.inspect(reference));
  }

  /**
   * What reads of a domain's live figures need, without waiting on its queue: its summary,
   * definitions, driver and (while active) its instance's handle.
   *
   * @throws {VirtError} Code 42 when there is no such domain.
   */
  inspect(reference: string): DomainInspection {
    const actor = this.#registry.actorOf(reference);
    return inspectDomain(actor.snapshot, (type) => this.#drivers.get(type), actor.held);
  }

  /**
   * The host path of a running domain's text console (a pty).
   *
   * @throws {VirtError} Code 55 when the domain is not running, 9 when it has no pty console.
   */
  consolePath(reference: string, device?: string): string {
    const inspection = this.inspect(reference);
    return consolePathOf(inspection, this.driverFor(inspection.definition), device);
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
    return await this.#claiming(definition, "define", async (uuid, actor, completed) => {
      const detail = await actor.run(
        "define",
        this.#runOptions(options),
        (job) => commands.define(job, completed),
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
    return await this.#claiming(definition, "create", async (uuid, actor, completed) => {
      await actor.run("create", this.#runOptions(options), async (job) => {
        if (isActive(job.snapshot)) {
          throw new VirtError(
            ErrorCode.OPERATION_INVALID,
            `domain '${definition.name}' is already active`,
          );
        }
        await commands.start(job, this.#env, {
          paused: options.paused ?? false,
          definition: completed,
        })
          .catch((error) => endHeldStart(job, this.#env, error));
      });
      return { uuid };
    });
  }

  /**
   * Restores a save image (`virDomainRestoreFlags`): its domain (or `definition`, which must
   * name the same one) starts from the image's state, as a transient domain unless it is
   * defined. The guest runs if it ran when saved, unless `paused` (or `running` says so).
   *
   * @throws {VirtError} The image's errors (9, 38); 55 when the domain is active; 9 when the
   *   hypervisor refuses the stream (the instance is then ended, STOPPED/failed).
   */
  async restore(
    path: string,
    options: CommandOptions & {
      definition?: DomainDefinition;
      running?: boolean;
      paused?: boolean;
      bypassCache?: boolean;
    } = {},
  ): Promise<{ uuid: string }> {
    const { definition, paused, restore } = await this.#restoreImage(path, options);
    return await this.#claiming(definition, "create", async (uuid, actor, completed) => {
      await actor.run("restore", this.#runOptions(options), async (job) => {
        if (isActive(job.snapshot)) {
          throw new VirtError(
            ErrorCode.OPERATION_INVALID,
            `domain '${definition.name}' is already active`,
          );
        }
        await commands.start(job, this.#env, { paused, definition: completed, restore })
          .catch((error) => endHeldStart(job, this.#env, error));
      });
      return { uuid };
    });
  }

  /**
   * Runs a step of a live migration between fleet hosts (`migration_commands.ts`) in the
   * domain's queue. The fleet checks ownership itself: a destination's domain is the source's
   * until the migration commits.
   */
  migrationJob<T>(
    reference: string,
    work: (job: JobContext, env: commands.CommandEnvironment) => Promise<T>,
    options: CommandOptions = {},
  ): Promise<T> {
    try {
      this.#assertOpen();
      const actor = this.#registry.actorOf(reference);
      return actor.run("migrate", this.#runOptions(options), (job) => work(job, this.#env));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs a migration destination's first step on the actor of `live`'s uuid (defined here or
   * new), while its name is claimed, as a create's.
   */
  async migrationTarget(
    live: DomainDefinition,
    work: (job: JobContext, env: commands.CommandEnvironment) => Promise<void>,
  ): Promise<void> {
    await this.#claiming(live, "create", async (_uuid, actor) => {
      await actor.run("migrate", this.#runOptions({}), (job) => work(job, this.#env));
    });
  }

  /**
   * The migration controls of a running domain (progress, cancel, limits), used outside its
   * queue: a migration in progress holds the queue.
   *
   * @throws {VirtError} 42 for no such domain; 55 when it is not running; 3 without driver
   *   support.
   */
  migrationControl(reference: string): { migration: MigrationDriver; handle: DomainHandle } {
    const snapshot = this.#registry.actorOf(reference).snapshot;
    if (!isActive(snapshot)) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    const handle = commands.handleOf(snapshot);
    const migration = this.driverFor(handle.definition).migration;
    if (migration === undefined) {
      throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainGetJobStats");
    }
    return { migration, handle };
  }

  /**
   * The last figures of the outgoing migration a running domain takes part in; undefined when
   * none is in flight (an inactive domain has none).
   *
   * @throws {VirtError} 42 for no such domain.
   */
  migrationProgress(reference: string): MigrationProgress | undefined {
    const snapshot = this.#registry.actorOf(reference).snapshot;
    if (!isActive(snapshot)) return undefined;
    const definition = snapshot.context.live ?? snapshot.context.definition;
    if (definition === null) return undefined;
    return this.driverFor(definition).migration?.current(snapshot.context.uuid);
  }

  /**
   * The image reader of the host's one driver when it has its own layout (the test
   * hypervisor's); undefined: libvirt's QEMU layout.
   */
  ownSaveImageReader(): OwnSaveImageReader | undefined {
    const drivers = this.drivers;
    return drivers.length === 1 ? drivers[0].readOwnSaveImage?.bind(drivers[0]) : undefined;
  }

  /**
   * For a call on a managed save image (`api`): what {@linkcode requireManagedSave} needs to
   * refuse it on a host whose one driver keeps managed saves without an image.
   */
  imagelessManagedSave(api: string): { api: string } | undefined {
    const drivers = this.drivers;
    return drivers.length === 1 && drivers[0].managedSaveWithoutImage === true
      ? { api }
      : undefined;
  }

  /**
   * What a restore of `path` starts: in the layout of the host's one driver when it has its own
   * (libvirt's test driver's: no flags, always running), libvirt's QEMU layout otherwise.
   */
  async #restoreImage(
    path: string,
    options: {
      definition?: DomainDefinition;
      running?: boolean;
      paused?: boolean;
      bypassCache?: boolean;
    },
  ): Promise<{ definition: DomainDefinition; paused: boolean; restore: RestoreImage }> {
    const own = this.ownSaveImageReader();
    if (own !== undefined) {
      checkOwnLayoutArgs("testDomainRestoreFlags", options, options.definition !== undefined);
      const definition = definitionOfXml(await own(path));
      const restore: RestoreImage = { path, offset: 0, paused: false, pausedDetail: "restored" };
      return { definition, paused: false, restore };
    }
    checkSaveFlags(options);
    const image = await readSaveImage(path);
    if (options.definition !== undefined) imageXml(image.definition, options.definition);
    const paused = options.paused === true ||
      (options.running !== true && !image.header.wasRunning);
    const restore: RestoreImage = {
      path,
      offset: image.header.streamOffset,
      compressed: image.header.compressed,
      paused,
      pausedDetail: options.paused === true ? "paused" : "restored",
      ...(options.bypassCache === true ? { bypassCache: true } : {}),
    };
    return { definition: options.definition ?? image.definition, paused, restore };
  }

  /**
   * Runs `work` on the actor of a new or existing definition's uuid while its name is claimed:
   * refuses a closed host, a definition without a uuid, one its driver cannot run, and a name or
   * uuid taken by another domain, all before anything is queued. `work` gets the definition as
   * the driver completes it (libvirt's post-parse: machine type, implicit devices, addresses).
   */
  async #claiming<T>(
    definition: DomainDefinition,
    command: "define" | "create",
    work: (uuid: string, actor: DomainActor, completed: DomainDefinition) => Promise<T>,
  ): Promise<T> {
    this.#assertOpen();
    const uuid = requireUuid(definition);
    const refused = this.#heldRetry.refusal(command);
    if (refused !== undefined) throw refused;
    const driver = this.driverFor(definition);
    // Owned before anything is recorded: two hosts never both define (and run) one uuid.
    const claimed = await this.#ownership?.claim(uuid, definition.name);
    try {
      const completed = await driver.completeDefinition?.(definition) ?? definition;
      // A large definition's dry build runs on a thread; `check` then knows its verdict.
      await driver.checkOffLoop?.(completed);
      driver.check(completed);
      const release = this.#registry.reserve(definition.name, uuid);
      try {
        return await work(uuid, this.#registry.actorFor(uuid), completed);
      } finally {
        release();
      }
    } finally {
      claimed?.();
    }
  }

  /**
   * Runs one domain command of the operations table in the domain's queue: the single dispatch
   * every door (HTTP routes, RPC, the methods below) goes through.
   *
   * @throws {VirtError} Code 42 when there is no such domain, 55 when the command is invalid in
   *   the domain's state, 87 when the domain stays busy past the queue timeout.
   */
  override command<Name extends DomainJobName>(
    name: Name,
    reference: string,
    args: DomainCommandArguments[Name],
    options: CommandOptions = {},
  ): Promise<void> {
    const runner = DOMAIN_JOBS[name] as DomainJobRunner<Name>;
    return this.#command(reference, name, options, (job) => {
      // A save is the domain's last job from now on: `--completed` answers it, not the
      // migration that brought the domain here (libvirt keeps one completed job per domain).
      if (name === "save" || name === "managedsave") {
        this.completedMigrations.forget(job.snapshot.context.uuid);
      }
      return runner(job, this.#env, args);
    });
  }

  /**
   * Runs a device command (`attach-device`, `detach-device`, `update-device`); a live detach
   * then waits up to libvirt's 5 s for the guest to release the device, outside the domain's
   * queue (the guest's DEVICE_DELETED is recorded by a job of that queue).
   *
   * @returns The aliases still pending removal after the wait (empty: all removed).
   */
  async changeDevice(
    reference: string,
    command: DeviceCommand,
    options: CommandOptions = {},
  ): Promise<string[]> {
    const { uuid } = this.lookup(reference);
    const pending = (id: string): readonly string[] =>
      this.#registry.get(id)?.snapshot.context.removals ?? [];
    const before = pending(uuid);
    await this.command("device", uuid, command, options);
    if (command.action !== "detach") return [];
    // libvirt's detach by alias does not wait for the guest: it answers once asked.
    if (command.alias !== undefined) return pending(uuid).filter((each) => !before.includes(each));
    const source = {
      pending,
      onApplied: (listener: (id: string) => void) => this.onApplied(listener),
    };
    return await awaitRemovals(source, uuid, before);
  }

  /**
   * Ends a disk's block job (`blockjob --abort`, `--pivot`): asks in the domain's queue, then,
   * unless `async`, waits outside it for the job's end, as libvirt's synchronous abort.
   *
   * @throws {VirtError} The command's refusals; 9 for a pivot that failed; 68 when the job does
   *   not end within `BLOCK_JOB_END_WAIT_MS` (block_job_commands.ts).
   */
  async endBlockJob(
    reference: string,
    request: { disk: string; flags: number },
    options: CommandOptions = {},
  ): Promise<void> {
    const { uuid } = this.lookup(reference);
    const jobs = (id: string) => this.#registry.get(id)?.snapshot.context.blockJobs;
    await this.command("blockjob", uuid, { action: "abort", ...request }, options);
    if ((request.flags & BlockJobAbortFlag.ASYNC) !== 0) return;
    const live = this.#registry.get(uuid)?.snapshot.context.live;
    if (live === null || live === undefined) return;
    const disk = live.devices.disks[blockJobDiskIndex(live, request.disk)].target.dev;
    const pivot = (request.flags & BlockJobAbortFlag.PIVOT) !== 0;
    await awaitBlockJobEnd(
      { jobs, onApplied: (listener) => this.onApplied(listener) },
      uuid,
      disk,
      pivot,
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
    const source = {
      summaryOf: (each: string) => {
        const actor = this.#registry.get(each);
        return actor === undefined || !exists(actor.snapshot)
          ? undefined
          : summarize(actor.snapshot, actor.held);
      },
      onApplied: this.onApplied.bind(this),
    };
    return waitForDomain(source, uuid, predicate, timeoutMs);
  }

  /** Resolves once every domain's queue is empty (tests, orderly shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.#registry.actors().map((actor) => actor.idle()));
    await this.#router.settled();
  }

  /** Saves a snapshot now if the applied facts form a gapless prefix of the log. */
  saveSnapshot(): Promise<boolean> {
    return this.#snapshots.save();
  }

  /**
   * Stops the host: refuses new commands, lets running jobs finish, saves a snapshot, and releases
   * the drivers. Running instances keep running.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#router.close();
    await this.idle();
    await this.#heldRetry.close();
    for (const actor of this.#registry.actors()) actor.close();
    if (this.#snapshots.factsSinceSnapshot > 0) {
      await this.saveSnapshot().catch((error) =>
        this.#log(`could not save a snapshot at close: ${(error as Error).message}`)
      );
    }
    for (const driver of this.drivers) await driver.close();
  }

  #applied(actor: DomainActor, applied: AppliedFact[]): void {
    for (const { fact } of applied) this.#registry.index(actor, fact);
    if (applied.some(({ fact }) => PORT_RELEASES.has(fact.type))) {
      this.#releaseUnheldPorts(actor);
    }
    this.#snapshots.applied(applied);
    for (const listener of this.#appliedListeners) listener(actor.uuid, applied);
  }

  /**
   * A guest gives back the network ports its instance no longer names: all of them once it is
   * gone (stopped, crashed, destroyed, a launch abandoned), an unplugged interface's. The ports
   * are chosen now, so a start or plug that follows is not touched.
   */
  #releaseUnheldPorts(actor: DomainActor): void {
    const binder = this.#networkPorts;
    if (binder === undefined) return;
    const { live, intent } = actor.snapshot.context;
    const named = commands.holdsNetworkPorts(actor.snapshot)
      ? new Set(
        portsNamedBy(live ?? (intent?.kind === "launch" ? intent.definition : null))
          .map((port) => port.portid),
      )
      : new Set<string>();
    const uuid = actor.uuid.toLowerCase();
    const owned = binder.all()
      .filter(({ port }) => port.ownerUuid === uuid && !named.has(port.uuid))
      .map(({ network, port }) => ({ network, portid: port.uuid }));
    if (owned.length === 0) return;
    this.#router.track(
      binder.release(owned).catch((error) =>
        this.#log(
          `domain ${actor.snapshot.context.name}: cannot release its network ports: ${
            (error as Error).message
          }`,
        )
      ),
    );
  }

  /**
   * Runs `work` in a domain's queue as the job `name`, refused as a command would be (a closed
   * host, a domain another host owns): the door of host-wide passes that record facts of a
   * domain's own (`host_guests.ts`).
   *
   * @throws {VirtError} Code 42 when there is no such domain, 87 when it stays busy.
   */
  runJob<T>(
    reference: string,
    name: string,
    work: (job: JobContext) => Promise<T>,
    options: CommandOptions = {},
  ): Promise<T> {
    return this.#command(reference, name, options, work);
  }

  #command<T>(
    reference: string,
    name: string,
    options: CommandOptions,
    work: (job: JobContext) => Promise<T>,
  ): Promise<T> {
    try {
      this.#assertOpen();
      const actor = this.#registry.actorOf(reference);
      this.#ownership?.check(actor.uuid, name);
      const refused = this.#heldRetry.refusal(name);
      if (refused !== undefined) throw refused;
      return actor.run(name, this.#runOptions(options), work);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #finishInterrupted(uuid: string, written: DomainFact[]): void {
    const actor = this.#registry.get(uuid);
    if (actor === undefined || this.#closed) return;
    this.#router.track(
      actor.run(
        "finish an interrupted job",
        { kind: "observation" },
        (job) => finishInterruptedJob(job, this.#env, written),
      ).then(
        (done) => done !== undefined && this.#log(`domain ${actor.snapshot.context.name}: ${done}`),
        (error) =>
          this.#log(
            `domain ${actor.snapshot.context.name}: cannot finish an interrupted job: ${
              (error as Error).message
            }`,
          ),
      ),
    );
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
