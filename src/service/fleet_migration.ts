/**
 * Live migration between the hosts of a fleet: the source's service drives it
 * (`actors/migration_commands.ts` holds the steps and their facts); the destination's answers
 * its three requests over NATS (request and reply on `evirt.migrate.<host>`):
 *
 * - `prepare`: a free loopback port is chosen, the domain's migration recorded (naming the
 *   source and the port), then the receiving instance launched, listening there;
 * - `finish`: the stream was sent: once complete, the lease is taken at the revision the source
 *   read (the commit), and the guest runs;
 * - `abort`: the receiving instance is ended.
 *
 * With virsh's default (client-driven) migration the client asks these steps of each host
 * itself (`migration_steps.ts`): the same prepare, finish and abort ({@linkcode FleetMigrations.answer}),
 * and the source's move ({@linkcode FleetMigrations.outgoing}, then `migrateOut`).
 *
 * A destination whose source never says `finish` or `abort` within
 * {@linkcode INCOMING_TIMEOUT_MS} ends its instance itself. After a restart, each host settles
 * the migrations its log has pending by the lease ({@linkcode FleetMigrations.settle}).
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Host } from "../../actors/host.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, type ErrorCodeValue, isVirtError, VirtError } from "../model/errors.ts";
import type { MigrationProgress, MigrationTuning } from "../../actors/driver_protocol.ts";
import {
  abortIn,
  finishIn,
  migrateIn,
  migrateOut,
  type MigrationLease,
  type MigrationPeer,
  settleMigration,
} from "../../actors/migration_commands.ts";
import { MIGRATION_TIMEOUT_MS } from "../../drivers/qemu/qmp_migration.ts";
import type { DomainLeases } from "../log/domain_leases.ts";
import type { FleetHost } from "../log/host_registry.ts";
import type { FleetDomains } from "./fleet_domains.ts";
import type { MigratedView } from "../api/views.ts";
import type { DomainSummary } from "../model/domain_list.ts";
import { migrationJobStats } from "../../actors/domain_jobs.ts";

/** Longest a destination keeps a receiving instance its source does not finish or abort, in ms. */
export const INCOMING_TIMEOUT_MS = MIGRATION_TIMEOUT_MS + 60_000;
/** Longest the source waits for the destination's answer to `prepare` or `finish`, in ms. */
export const PEER_TIMEOUT_MS = 60_000;
/** Migration requests a destination answers at once; more are refused (code 87). */
export const MIGRATIONS_IN_FLIGHT_MAX = 8;

/** A request to a destination (over NATS from a source, or from a client's step here). */
export type PeerRequest =
  | {
    op: "prepare";
    migration: string;
    from: string;
    definition: DomainDefinition | null;
    live: DomainDefinition;
  }
  | {
    op: "finish";
    migration: string;
    uuid: string;
    revision: number;
    /** The source's final figures, kept for `domjobinfo --completed`. */
    figures?: MigrationProgress;
  }
  | { op: "abort"; migration: string; uuid: string };

/** A destination's answer. */
export type PeerAnswer = { port?: number } | { code: number; message: string };

function subjectOf(host: string): string {
  return `evirt.migrate.${host}`;
}

/** Options of {@linkcode FleetMigrations.open}. */
export interface FleetMigrationsOptions {
  connection: NatsConnection;
  host: Host;
  leases: DomainLeases;
  hosts(): Promise<FleetHost[]>;
  log: (message: string) => void;
}

/** This host's live migrations, as source and as destination. */
export class FleetMigrations {
  readonly #options: FleetMigrationsOptions;
  #subscription: Subscription | undefined;
  #domains: FleetDomains | undefined;
  /**
   * Receiving instances by migration: their uuid, the timer that ends them, and (prepared by a
   * client, `migration_steps.ts`) the end of the watch on that client's connection.
   */
  readonly #incoming = new Map<
    string,
    { uuid: string; timer: ReturnType<typeof setTimeout>; unwatch?: () => void }
  >();
  #inFlight = 0;

  private constructor(options: FleetMigrationsOptions) {
    this.#options = options;
  }

  /**
   * Settles this host's pending migrations (after a restart: by the lease, the host it names
   * has the guest), before the fleet's domains are brought in step with the leases.
   */
  static async open(options: FleetMigrationsOptions): Promise<FleetMigrations> {
    const migrations = new FleetMigrations(options);
    await migrations.settle();
    return migrations;
  }

  /** Answers the other hosts' migration requests; moves this host's domains with `domains`. */
  serve(domains: FleetDomains): void {
    this.#domains = domains;
    this.#subscription ??= this.#options.connection.subscribe(
      subjectOf(this.#options.leases.host),
      {
        callback: (error, message) => {
          if (error !== null) return;
          const respond = (answer: PeerAnswer) => message.respond(JSON.stringify(answer));
          if (this.#inFlight >= MIGRATIONS_IN_FLIGHT_MAX) {
            respond(answerOf(
              new VirtError(ErrorCode.RESOURCE_BUSY, "too many migration requests in progress"),
            ));
            return;
          }
          this.#inFlight++;
          this.answer(message.json<PeerRequest>()).then(
            (answer) => respond(answer),
            (failure) => respond(answerOf(failure)),
          ).finally(() => this.#inFlight--);
        },
      },
    );
  }

  /** The fleet's domains of this host (set by {@linkcode serve}). */
  #fleet(): FleetDomains {
    if (this.#domains === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "this host does not serve migrations yet");
    }
    return this.#domains;
  }

  /**
   * Moves the running domain `reference` to `target` (see the module).
   *
   * @throws {VirtError} 55 when it is not running, the target is this host, unknown or lost; 87
   *   when another host owns it; the destination's or QEMU's error (the guest runs on here).
   */
  async moveLive(
    reference: string,
    target: string,
    tuning: MigrationTuning = {},
  ): Promise<MigratedView> {
    const { host } = this.#options;
    const summary = await this.outgoing(reference, target, tuning);
    const migration = crypto.randomUUID();
    const context = host.context(summary.uuid);
    const peer = this.peer(target, migration, summary.uuid, {
      definition: context.definition,
      live: context.live!,
    });
    const figures: MigrationProgress = await host.migrationJob(
      summary.uuid,
      (job, env) =>
        migrateOut(job, env, { migration, host: target, peer, lease: this.lease(summary.uuid) }),
    );
    return {
      uuid: summary.uuid,
      name: summary.name,
      host: target,
      totalTimeMs: figures.totalTimeMs,
      ...(figures.downtimeMs === undefined ? {} : { downtimeMs: figures.downtimeMs }),
      memoryProcessedBytes: figures.memoryProcessedBytes,
    };
  }

  /**
   * Readies the running domain `reference` this host owns to move to `target`: checks, the
   * lease claimed, the migration's limits set (`tuning` replaces those set before).
   *
   * @throws {VirtError} As {@linkcode moveLive}.
   */
  async outgoing(
    reference: string,
    target: string,
    tuning: MigrationTuning,
  ): Promise<DomainSummary> {
    const { host, leases } = this.#options;
    const summary = host.lookup(reference);
    this.#fleet().check(summary.uuid, "migrate");
    if (!summary.active) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    if (target === leases.host) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `domain '${summary.name}' is already on host '${target}'`,
      );
    }
    const to = (await this.#options.hosts()).find((each) => each.name === target);
    if (to === undefined || to.state !== "alive") {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `host '${target}' is ${to === undefined ? "not in the fleet" : "lost"}`,
        { where: "host" },
      );
    }
    await leases.claim(summary.uuid, summary.name);
    const { migration: control, handle } = host.migrationControl(summary.uuid);
    // Limits given with the migration replace those set before (migrate-setspeed); none given:
    // those, else libvirt's default (no bandwidth limit).
    await control.tune(handle, tuning, AbortSignal.timeout(PEER_TIMEOUT_MS));
    return summary;
  }

  /**
   * Settles every local domain with a migration pending (after a restart): by the lease, the
   * host it names has the guest.
   */
  async settle(): Promise<void> {
    const { host, log } = this.#options;
    for (const summary of host.list()) {
      const pending = host.context(summary.uuid).migration;
      if (pending === null || pending === undefined) continue;
      const peer = pending.direction === "out"
        ? this.peer(pending.host, pending.migration, summary.uuid, undefined)
        : undefined;
      try {
        const done = await host.migrationJob(
          summary.uuid,
          (job, env) => settleMigration(job, env, this.lease(summary.uuid), peer),
        );
        if (done !== undefined) log(`domain '${summary.name}': ${done}`);
      } catch (error) {
        log(`domain '${summary.name}': cannot settle its migration: ${(error as Error).message}`);
      }
    }
  }

  /** Stops answering; receiving instances whose source has not finished are ended. */
  async close(): Promise<void> {
    this.#subscription?.unsubscribe();
    for (const [migration, entry] of [...this.#incoming]) {
      clearTimeout(entry.timer);
      await this.#abortIncoming(migration, entry.uuid, "failed").catch(() => {});
    }
  }

  /** The lease of domain `uuid`, as a migration's steps read and fence it. */
  lease(uuid: string): MigrationLease {
    const leases = this.#options.leases;
    return {
      host: leases.host,
      read: async () => {
        const lease = await leases.read(uuid);
        return lease === undefined ? undefined : { owner: lease.owner, revision: lease.revision };
      },
      fence: async () => {
        try {
          await leases.update(uuid, {});
          return true;
        } catch {
          return false;
        }
      },
    };
  }

  /** The destination `target` of migration `migration`, asked over the fleet's connection. */
  peer(
    target: string,
    migration: string,
    uuid: string,
    domain: { definition: DomainDefinition | null; live: DomainDefinition } | undefined,
  ): MigrationPeer {
    return {
      prepare: async () => {
        if (domain === undefined) throw new Error("prepare needs the domain's definitions");
        const answer = await this.#ask(target, {
          op: "prepare",
          migration,
          from: this.#options.leases.host,
          definition: domain.definition,
          live: domain.live,
        });
        if (typeof answer.port !== "number") {
          throw new VirtError(ErrorCode.INTERNAL_ERROR, `host '${target}' gave no port`);
        }
        return { port: answer.port };
      },
      finish: async (revision, figures) => {
        await this.#ask(target, { op: "finish", migration, uuid, revision, figures });
      },
      abort: async () => {
        await this.#ask(target, { op: "abort", migration, uuid });
      },
    };
  }

  async #ask(target: string, request: PeerRequest): Promise<{ port?: number }> {
    let reply;
    try {
      reply = await this.#options.connection.request(
        subjectOf(target),
        JSON.stringify(request),
        { timeout: PEER_TIMEOUT_MS },
      );
    } catch (error) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `migration: host '${target}' did not answer '${request.op}': ${(error as Error).message}`,
      );
    }
    const answer = reply.json<PeerAnswer>();
    if ("code" in answer) {
      throw new VirtError(answer.code as ErrorCodeValue, answer.message);
    }
    return answer;
  }

  /**
   * Prepares, finishes or aborts an incoming migration here (a source's request, or a client's
   * step: `migration_steps.ts`).
   */
  async answer(request: PeerRequest): Promise<PeerAnswer> {
    const { host, leases } = this.#options;
    const domains = this.#fleet();
    switch (request.op) {
      case "prepare": {
        const uuid = request.live.uuid!;
        domains.expectIncoming(uuid);
        try {
          const port = freeLoopbackPort();
          await host.migrationTarget(
            request.live,
            (job, env) =>
              migrateIn(job, env, {
                migration: request.migration,
                from: request.from,
                port,
                definition: request.definition,
                live: request.live,
              }),
          );
          const timer = setTimeout(() => {
            this.#options.log(
              `migration ${request.migration}: its source did not finish it in time; ended`,
            );
            this.#abortIncoming(request.migration, uuid, "failed").catch(() => {});
          }, INCOMING_TIMEOUT_MS);
          this.#incoming.set(request.migration, { uuid, timer });
          return { port };
        } catch (error) {
          domains.endIncoming(uuid);
          throw error;
        }
      }
      case "finish": {
        const entry = this.#incoming.get(request.migration);
        if (entry === undefined) {
          throw new VirtError(
            ErrorCode.OPERATION_INVALID,
            `no incoming migration '${request.migration}' on host '${leases.host}'`,
          );
        }
        clearTimeout(entry.timer);
        entry.unwatch?.();
        this.#incoming.delete(request.migration);
        try {
          await host.migrationJob(
            entry.uuid,
            (job, env) =>
              finishIn(job, env, {
                migration: request.migration,
                commit: async () => {
                  await leases.receive(entry.uuid, request.revision);
                },
              }),
          );
          if (request.figures !== undefined) {
            host.completedMigrations.record(
              entry.uuid,
              migrationJobStats(request.figures, "migration_in"),
            );
          }
        } finally {
          domains.endIncoming(entry.uuid);
        }
        return {};
      }
      case "abort": {
        const entry = this.#incoming.get(request.migration);
        if (entry !== undefined) clearTimeout(entry.timer);
        await this.#abortIncoming(request.migration, entry?.uuid ?? request.uuid, "cancelled");
        return {};
      }
    }
  }

  /**
   * Ties incoming migration `migration` to its client's connection: once `ended`, the receiving
   * instance is ended unless finished before (libvirt's destination does so when the
   * connection that prepared it closes).
   */
  watchClient(migration: string, ended: AbortSignal): void {
    const entry = this.#incoming.get(migration);
    if (entry === undefined) return;
    const gone = () => {
      if (!this.#incoming.has(migration)) return;
      clearTimeout(entry.timer);
      this.#options.log(`migration ${migration}: its client left before finishing it; ended`);
      this.#abortIncoming(migration, entry.uuid, "failed").catch(() => {});
    };
    if (ended.aborted) {
      gone();
      return;
    }
    ended.addEventListener("abort", gone, { once: true });
    entry.unwatch = () => ended.removeEventListener("abort", gone);
  }

  /** The incoming migration of domain `uuid` in progress here, if any. */
  incomingOf(uuid: string): string | undefined {
    for (const [migration, entry] of this.#incoming) if (entry.uuid === uuid) return migration;
    return undefined;
  }

  /** Ends incoming migration `migration` of domain `uuid` (its client cancelled it). */
  abortIncoming(migration: string, uuid: string): Promise<void> {
    const entry = this.#incoming.get(migration);
    if (entry !== undefined) clearTimeout(entry.timer);
    return this.#abortIncoming(migration, uuid, "cancelled");
  }

  async #abortIncoming(
    migration: string,
    uuid: string,
    outcome: "cancelled" | "failed",
  ): Promise<void> {
    this.#incoming.get(migration)?.unwatch?.();
    this.#incoming.delete(migration);
    try {
      await this.#options.host.migrationJob(
        uuid,
        (job, env) => abortIn(job, env, migration, outcome),
      );
    } catch (error) {
      if (!isVirtError(error) || error.code !== ErrorCode.NO_DOMAIN) throw error;
    } finally {
      this.#domains?.endIncoming(uuid);
    }
  }
}

function answerOf(error: unknown): PeerAnswer {
  return isVirtError(error)
    ? { code: error.code, message: error.message }
    : { code: ErrorCode.INTERNAL_ERROR, message: (error as Error).message };
}

/** A loopback TCP port free now (the kernel's choice; QEMU binds it right after). */
function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
