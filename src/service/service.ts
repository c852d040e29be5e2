/**
 * Assembles the service: state directory → event log (its lock first) → drivers → host actor
 * (replay, reconcile, autostart) → API → listeners. Connections are accepted only once replay and
 * reconcile are done.
 *
 * @module
 */

import { NetworkRuntime } from "../../drivers/network/network_runtime.ts";
import type { Driver } from "../../actors/driver_protocol.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStreamSettings } from "../projections/event_hub.ts";
import { type ApiServer, type ApiToken, serveApi } from "../api/server.ts";
import { type Config, ConfigError, parseTokens } from "../config/config.ts";
import type { ApiEnvironment } from "../api/api_context.ts";
import { openSqliteStore } from "../log/sqlite_store.ts";
import { NATS_TIMEOUT_MS_DEFAULT, openNatsStore } from "../log/nats_store.ts";
import { type HostIdentity, HostRegistry } from "../log/host_registry.ts";
import {
  ensureFleetStream,
  type FleetRelay,
  followFleet,
  followOtherHosts,
  relayToFleet,
} from "../log/fleet_stream.ts";
import { DomainLeases } from "../log/domain_leases.ts";
import { FleetDomains } from "./fleet_domains.ts";
import { MigrationSteps } from "./migration_steps.ts";
import { FleetMigrations } from "./fleet_migration.ts";
import { forwardRequest, serveForwarded } from "./fleet_forwarding.ts";
import { forwardCall, serveForwardedCalls } from "./fleet_call_forwarding.ts";
import { FleetStreams } from "./fleet_streams.ts";
import { connect, type Subscription } from "@nats-io/transport-node";
import { DOMAIN_FACT_TYPES } from "../model/facts.ts";
import { STORAGE_FACT_TYPES } from "../model/storage_facts.ts";
import { NETWORK_FACT_TYPES } from "../model/network_facts.ts";
import { StoragePools } from "../../actors/storage_pools.ts";
import { LEASE_POLL_INTERVAL_MS, Networks } from "../../actors/networks.ts";
import { Secrets } from "../../actors/secrets.ts";
import { SECRET_FACT_TYPES } from "../model/secret_facts.ts";
import type { Host } from "../../actors/host.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { EventStore } from "../log/event_store.ts";
import { readNodeInfo } from "./node_info.ts";
import { RPC_CONNECTIONS_MAX, type RpcServer, serveRpc } from "../rpc/server.ts";
import { descriptorLimit } from "../api/connection_limits.ts";
import type { SharedService } from "../rpc/rpc_target.ts";
import { procedureIndex } from "../rpc/procedures.ts";
import { type RpcFleet, runForwardedCall } from "../rpc/fleet_calls.ts";
import { libvirtSocketPaths } from "../rpc/socket_paths.ts";
import type { GuestsPolicy } from "../config/guests_policy.ts";
import {
  createServiceCore,
  EVENT_STREAM_DEFAULTS,
  REQUEST_TIMEOUT_MS,
  type ServiceCore,
  type ServiceCoreOptions,
} from "./service_core.ts";

export {
  BODY_MAX_BYTES,
  createServiceCore,
  EVENT_STREAM_DEFAULTS,
  REQUEST_TIMEOUT_MS,
  type ServiceCore,
  type ServiceCoreOptions,
} from "./service_core.ts";

/** A running service. */
export interface RunningService extends ServiceCore {
  server: ApiServer;
  /** The libvirt-protocol listeners (`libvirt-sock`, `libvirt-sock-ro`). */
  rpc: RpcServer;
  /**
   * Reloads what can change while running: the TCP tokens file is read again. Returns what was
   * done, for the log; a refused file keeps the tokens in use.
   *
   * @throws {ConfigError} When the tokens file is unreadable or invalid.
   */
  reload(): Promise<string>;
  /** Stops listening, then closes the core. Running VMs keep running. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startService}. */
export interface StartServiceOptions {
  /** Extra drivers (e.g. QEMU); the test hypervisor is always on. */
  drivers?: Driver[];
  events?: Partial<EventStreamSettings>;
  log?: (message: string) => void;
  /**
   * A log function per component (`host`, `storage`, `api`, `rpc`); default: `log` for all.
   * The service's structured log uses it to name where a line comes from.
   */
  logFor?: (component: string) => (message: string) => void;
  /** Told of every answered API call. */
  onRequest?: ServiceCoreOptions["onRequest"];
  /** Opens a private `test:///default` hypervisor per libvirt-protocol connection. */
  openTestHypervisor?: SharedService["openTestHypervisor"];
  /**
   * What stops and starts of the host's guests do (libvirt-guests' settings). Default its
   * defaults: the listed guests are not started (`on_boot = ignore`).
   */
  guests?: GuestsPolicy;
}

/**
 * Starts the whole service from a configuration.
 *
 * @throws {VirtError} When the state directory is locked by another service, a socket is in use,
 *   or the tokens file is invalid.
 */
export async function startService(
  config: Config,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const log = options.log ?? ((message: string) => console.error(`evirt: ${message}`));
  const logFor = options.logFor ?? (() => log);
  await Deno.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const store = config.natsLog === null
    ? await openSqliteStore(config.stateDir, {
      retention: config.retention,
      factTypes: DOMAIN_FACT_TYPES,
      runtimeRecords: runtimeRecords(config.runtimeDir),
      // Commits (and their fsync) on a thread: a busy disk never stalls other callers.
      commitThread: true,
    })
    : await openNatsStore({
      ...config.natsLog,
      stateDir: config.stateDir,
      retention: config.retention,
      factTypes: DOMAIN_FACT_TYPES,
    });
  let core: ServiceCore | undefined;
  let storageStore: EventStore | undefined;
  let networkStore: EventStore | undefined;
  let secretStore: EventStore | undefined;
  let fleet: Fleet | undefined;
  try {
    const tokens = config.tokensFile === null ? [] : await readTokens(config.tokensFile);
    await Deno.mkdir(config.runtimeDir, { recursive: true, mode: 0o755 });
    const autostart = await firstStartSinceBoot(config.runtimeDir);
    core = await createServiceCore({
      store,
      drivers: [new TestDriver(), ...(options.drivers ?? [])],
      xmlMaxBytes: config.xmlMaxBytes,
      requestBodiesMaxBytes: config.requestBodiesMaxBytes,
      // Domains autostart below, once their networks, pools and volumes are there.
      autostart: false,
      checkAnswers: config.checkAnswers,
      ...(options.events === undefined ? {} : { events: options.events }),
      ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
      log: logFor("host"),
      ...(options.guests === undefined ? {} : { guests: options.guests }),
      guestsLog: logFor("guests"),
      // As libvirt's /var/lib/libvirt/qemu/save: the service keeps the images with its state.
      managedSaveDir: `${config.stateDir}/save`,
    });
    // Storage pools have their own log: their facts never hold back the domain log's snapshots
    // (which cover only a prefix every domain actor has applied).
    storageStore = await openSideStore(config, "storage", STORAGE_FACT_TYPES);
    const storage = await StoragePools.open({
      store: storageStore,
      autostart,
      log: logFor("storage"),
    });
    // Networks too: one stream per network, in a log of their own.
    networkStore = await openSideStore(config, "network", NETWORK_FACT_TYPES);
    const networks = await Networks.open({
      store: networkStore,
      autostart,
      log: logFor("network"),
      // dnsmasq's files beside the bridges they serve: both are gone after a reboot.
      ...(config.networkRuntime
        ? { runtime: new NetworkRuntime(`${config.runtimeDir}/network`) }
        : {}),
      // dnsmasq's lease changes are recorded as they come (a fact a second at most).
      leasePollIntervalMs: LEASE_POLL_INTERVAL_MS,
    });
    core.attachNetworks(networks);
    // Secrets too; their values never enter a log: they are kept encrypted beside it.
    secretStore = await openSideStore(config, "secret", SECRET_FACT_TYPES);
    const secrets = await Secrets.open({
      store: secretStore,
      valuesDir: `${config.stateDir}/secret/values`,
      log: logFor("secret"),
    });
    core.attachSecrets(secrets);
    // A LUKS disk's passphrase is its secret's value.
    for (const driver of core.host.drivers) {
      driver.useSecretValues?.((reference) => secrets.internalValue(reference));
    }
    // Guests' `<interface type='network'>` join their network's bridge.
    core.host.setNetworkResolver((network) => ({ bridge: networks.guestBridge(network) }));
    // Each of them gets a port on its network, as libvirt's QEMU driver asks its network
    // driver for one; the ports a restart finds are brought in line with the guests.
    core.host.setNetworkPorts({
      create: (network, port, reclaim) => networks.createGuestPort(network, port, reclaim),
      release: (ports) => networks.releasePorts(ports),
      update: async (network, portid, bandwidth) => {
        await networks.setPortBandwidth(networks.byName(network).uuid, portid, bandwidth);
      },
      all: () => networks.allPorts(),
    });
    await core.host.reconcileNetworkPorts();
    core.attachStorage(storage);
    if (config.natsLog !== null) {
      const node = readNodeInfo();
      fleet = await openFleet(
        config.natsLog,
        {
          name: config.natsLog.host,
          drivers: core.host.drivers.flatMap((driver) => [...driver.domainTypes]),
          cpus: node.cpus,
          memoryKiB: node.memoryKiB,
        },
        core,
        logFor("fleet"),
      );
      core.attachFleet(fleet.registry);
    }
    linkStorage(core.host, storage);
    // As libvirt's drivers do in turn: networks and pools autostarted above, then the domains
    // that use them (on a fleet's log, once this host knows which domains it owns).
    if (autostart) await core.host.autostart();
    // A reader thread's start stalls the loop: pay for it before any caller is accepted.
    core.definitionReader.prestart();
    storage.commands.scanner.prestart();
    // The HTTP pools are held under half the descriptor limit and each libvirt-protocol socket
    // under an eighth, so a flood of one listener cannot leave the others without descriptors.
    const descriptorsMax = descriptorLimit();
    const server = await serveApi(core.api, {
      ...(descriptorsMax === undefined ? {} : { descriptorsMax: Math.floor(descriptorsMax / 2) }),
      socketPath: config.socketPath,
      readOnlySocketPath: config.readOnlySocketPath,
      ...(config.listen === null ? {} : { tcp: { ...config.listen, tokens } }),
      onListen: (address) => logFor("api")(`listening on ${address}`),
      limits: config.connections,
      log: logFor("api"),
    });
    core.metrics.attachConnections(server.connections);
    const metrics = core.metrics;
    const rpcService: SharedService = {
      host: core.host,
      storage,
      networks,
      secrets,
      hub: core.hub,
      consoles: core.consoles,
      events: { ...EVENT_STREAM_DEFAULTS, ...options.events },
      xmlMaxBytes: config.xmlMaxBytes,
      hostname: () => Deno.hostname(),
      nodeInfo: readNodeInfo,
      eventCallbacks: (delta) => metrics.subscriber(delta, "rpc"),
      ...(options.openTestHypervisor === undefined
        ? {}
        : { openTestHypervisor: options.openTestHypervisor }),
      ...(fleet === undefined ? {} : { fleet: fleet.rpc }),
    };
    const rpc = await serveRpc({
      ...libvirtSocketPaths(Deno.env.toObject(), config.runtimeDir),
      connectionsMax: descriptorsMax === undefined
        ? RPC_CONNECTIONS_MAX
        : Math.max(1, Math.min(RPC_CONNECTIONS_MAX, Math.floor(descriptorsMax / 8))),
      service: rpcService,
      log: logFor("rpc"),
      onListen: (address) => logFor("rpc")(`listening on ${address}`),
    }).catch(async (error) => {
      await server.shutdown();
      throw error;
    });
    // Calls of the other hosts on this host's domains are answered once its own are.
    fleet?.answerCalls(rpcService);
    // libvirt-guests' start, once the service answers (it runs after libvirtd is up): the
    // guests the last stop listed are started (after autostart, so none is started twice), or
    // the list is dropped, as `on_boot` says.
    const { guests } = core;
    guests.start();
    const running = core;
    const runningStorageStore = storageStore;
    const runningNetworkStore = networkStore;
    const runningSecretStore = secretStore;
    const runningFleet = fleet;
    return {
      ...running,
      server,
      rpc,
      async reload() {
        if (config.tokensFile === null || config.listen === null) {
          return "nothing to reload (no TCP listener with EVIRT_TOKENS_FILE)";
        }
        const next = await readTokens(config.tokensFile);
        server.replaceTokens(next);
        return `tokens re-read from ${config.tokensFile}: ${next.length}`;
      },
      async stop() {
        // Event streams never end by themselves: end them first, or the listeners' shutdown
        // would wait for them forever.
        running.endStreams();
        // The guest being saved, shut down or started is finished; no further one is begun.
        await guests.close();
        await rpc.shutdown();
        await server.shutdown();
        await storage.close();
        await runningStorageStore.close();
        await networks.close();
        await runningNetworkStore.close();
        await secrets.close();
        await runningSecretStore.close();
        await runningFleet?.close();
        await running.close();
      },
    };
  } catch (error) {
    await fleet?.close();
    await storageStore?.close();
    await networkStore?.close();
    await secretStore?.close();
    if (core !== undefined) await core.close();
    else await store.close();
    throw error;
  }
}

/**
 * Domains and volumes meet: a `<disk type='volume'>` resolves to its volume at start (libvirt's
 * errors for a missing or inactive pool, a missing volume), and a volume a running domain uses
 * is not deleted.
 */
function linkStorage(host: Host, storage: StoragePools): void {
  host.setVolumeResolver((pool, volume) => {
    const summary = storage.summary(storage.byName(pool));
    if (!summary.active) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `storage pool '${pool}' containing volume '${volume}' is not active`,
      );
    }
    const record = storage.commands.volume(summary.uuid, volume);
    return { type: record.type, path: record.path };
  });
  storage.commands.volumeUsers = (pool, volume, path) =>
    host.domainsUsingVolume(pool, volume, path);
}

/**
 * A log of its own (storage pools', networks'): in its folder of the state directory, or on
 * JetStream as the host's `-storage` / `-network` log.
 */
async function openSideStore(
  config: Config,
  folder: string,
  factTypes: readonly string[],
): Promise<EventStore> {
  const dir = `${config.stateDir}/${folder}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (config.natsLog === null) return await openSqliteStore(dir, { factTypes, commitThread: true });
  const { servers, host, replicas } = config.natsLog;
  return await openNatsStore({
    servers,
    host: `${host}-${folder}`,
    replicas,
    stateDir: dir,
    factTypes,
  });
}

/** This host in the fleet of its NATS log: its registration, heartbeat and view of the others. */
interface Fleet {
  registry: NonNullable<ApiEnvironment["fleet"]>;
  /** How libvirt-protocol calls reach the owner of another host's domain. */
  rpc: RpcFleet;
  /** Answers the libvirt-protocol calls other hosts forward to this one, on `service`. */
  answerCalls(service: SharedService): void;
  close(): Promise<void>;
}

/**
 * Registers this host on the NATS server of its log (logging every host it marks lost), takes
 * the leases of its domains, and answers requests forwarded by the other hosts.
 */
async function openFleet(
  log: NonNullable<Config["natsLog"]>,
  identity: HostIdentity,
  core: ServiceCore,
  say: (message: string) => void,
): Promise<Fleet> {
  const connection = await connect({
    servers: log.servers.split(","),
    name: `evirt-${log.host}-fleet`,
    timeout: NATS_TIMEOUT_MS_DEFAULT,
  });
  let registry: HostRegistry | undefined;
  let leases: DomainLeases | undefined;
  let domains: FleetDomains | undefined;
  let migrations: FleetMigrations | undefined;
  let relay: FleetRelay | undefined;
  try {
    const hosts = await HostRegistry.open(connection, {
      identity,
      ttlMs: log.hostTtlMs,
      onChange: (change) => say(`host ${change.host} is ${change.state}: its heartbeat stopped`),
    });
    registry = hosts;
    say(`host ${identity.name} registered (heartbeat valid ${hosts.ttlMs} ms)`);
    await ensureFleetStream(connection, log.replicas);
    const copying = await relayToFleet(
      connection,
      log.host,
      `EVIRT_LOG_${log.host}`,
      `evirt.log.${log.host}.facts`,
      say,
    );
    relay = copying;
    const table = await DomainLeases.open(connection, log.host, log.replicas);
    leases = table;
    // Migrations a restart interrupted are settled first, by the lease: the host it names has
    // the guest (before the leases and the host's copies are brought in step).
    const live = await FleetMigrations.open({
      connection,
      host: core.host,
      leases: table,
      hosts: () => hosts.hosts(),
      log: say,
    });
    migrations = live;
    const owned = await FleetDomains.open({
      host: core.host,
      leases: table,
      hosts: () => hosts.hosts(),
      passIntervalMs: Math.max(100, Math.floor(hosts.ttlMs / 3)),
      log: say,
    });
    domains = owned;
    live.serve(owned);
    let calls: Subscription | undefined;
    const streams = new FleetStreams(connection, log.host, REQUEST_TIMEOUT_MS);
    const consoles = streams.serveConsoles(core.host, core.consoles);
    const forwarded = serveForwarded(
      connection,
      log.host,
      (request, role) => core.api.handle(request, role),
    );
    return {
      registry: {
        hosts: () => hosts.hosts(),
        follow: (after, signal) => followFleet(connection, after, signal),
        domains: () =>
          table.all().map((lease) => ({
            uuid: lease.uuid,
            name: lease.name,
            host: lease.owner,
            active: lease.active,
            sinceMs: lease.sinceMs,
            ...(lease.pending === true ? { pending: true } : {}),
          })),
        ownerElsewhere: (reference) => owned.elsewhere(reference)?.owner,
        forward: (owner, request, role) =>
          forwardRequest(connection, log.host, owner, request, role, REQUEST_TIMEOUT_MS),
        openConsole: (owner, request) => streams.openConsole(owner, request),
        moveOffline: (reference, target) => owned.moveOffline(reference, target),
        moveLive: (reference, target, tuning) => live.moveLive(reference, target, tuning),
      },
      rpc: {
        ownerElsewhere: (reference) => owned.elsewhere(reference)?.owner,
        forward: (owner, call) => forwardCall(connection, owner, call, REQUEST_TIMEOUT_MS),
        openStream: (owner, call) => streams.open(owner, call),
        followElsewhere: (signal) => followOtherHosts(connection, log.host, signal),
        moveLive: (reference, target, tuning) => live.moveLive(reference, target, tuning),
        moveOffline: (reference, target) => owned.moveOffline(reference, target),
        steps: new MigrationSteps({ host: core.host, leases: table, migrations: live, log: say }),
      },
      answerCalls(service) {
        const procedures = procedureIndex();
        calls ??= serveForwardedCalls(
          connection,
          log.host,
          (call) =>
            runForwardedCall(
              service,
              procedures,
              call,
              log.host,
              (id, source) => streams.carry(id, source),
            ),
        );
      },
      async close() {
        calls?.unsubscribe();
        forwarded.unsubscribe();
        consoles.unsubscribe();
        streams.close();
        await live.close();
        await owned.close();
        await table.close();
        await copying.stop();
        await hosts.close();
        await connection.close();
      },
    };
  } catch (error) {
    await migrations?.close();
    await domains?.close();
    await leases?.close();
    await relay?.stop();
    await registry?.close();
    await connection.close();
    throw error;
  }
}

/** Runtime records named at most, when a refused start lists them. */
const RUNTIME_RECORDS_MAX = 100;

/**
 * The runtime folders of QEMU instances (`$EVIRT_RUNTIME_DIR/qemu/*`): while one exists, an empty
 * or missing log must not start as a fresh one (see `open_checks.ts`).
 */
function runtimeRecords(runtimeDir: string): string[] {
  const records: string[] = [];
  try {
    for (const entry of Deno.readDirSync(`${runtimeDir}/qemu`)) {
      records.push(`${runtimeDir}/qemu/${entry.name}`);
      if (records.length >= RUNTIME_RECORDS_MAX) break;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return records.sort();
}

/**
 * Reads the tokens file, refusing one that group or others may read: a token is a password, and
 * a read-write one is root-equivalent.
 */
async function readTokens(path: string): Promise<ApiToken[]> {
  const file = await Deno.open(path, { read: true });
  try {
    // The mode is checked on the open file, so the file read is the file checked.
    const mode = (await file.stat()).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      throw new ConfigError(
        "EVIRT_TOKENS_FILE",
        `'${path}' has mode ${(mode & 0o777).toString(8).padStart(4, "0")}: group and others ` +
          "must have no access to a tokens file (chmod 600 it)",
      );
    }
    const bytes = new Uint8Array(TOKENS_FILE_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const count = await file.read(bytes.subarray(length));
      if (count === null) break;
      length += count;
      if (length > TOKENS_FILE_MAX_BYTES) {
        throw new ConfigError(
          "EVIRT_TOKENS_FILE",
          `'${path}' is larger than ${TOKENS_FILE_MAX_BYTES} bytes`,
        );
      }
    }
    return parseTokens(new TextDecoder().decode(bytes.subarray(0, length)));
  } finally {
    file.close();
  }
}

/** Largest tokens file read, in bytes. */
const TOKENS_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Autostart runs once per host boot, as libvirt's does: the runtime directory is on a tmpfs
 * cleared at boot, so a marker there says whether this boot already autostarted.
 */
async function firstStartSinceBoot(runtimeDir: string): Promise<boolean> {
  const marker = `${runtimeDir}/autostarted`;
  try {
    await Deno.writeTextFile(marker, `${new Date().toISOString()}\n`, { createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}
