/**
 * libvirt's client-driven live migration (the default of `virsh migrate`: no `--p2p`) between
 * the hosts of a fleet. The client holds a connection to each host and calls the five steps of
 * the V3 protocol with parameters; each step maps onto the fleet's migration
 * (`fleet_migration.ts`, `actors/migration_commands.ts`) with its rules: intent before action on
 * both hosts, and the domain's lease as the one decision.
 *
 * - Begin (source): checks, the lease claimed; answers the live XML and a cookie naming the
 *   source with the domain's definitions (as libvirt's cookie carries the persistent one).
 *   Nothing is recorded: a client that stops here leaves nothing behind.
 * - Prepare (destination): the destination's own prepare (intent naming the source and the
 *   port, then the receiving instance, paused, the domain defined here); answers the URI the
 *   stream goes to, and a cookie naming the migration. The instance is tied to the client's
 *   connection: if it ends before Finish, the instance is ended (as libvirt's destination does).
 * - Perform (source): intent naming the destination, then the stream is sent; at the switch-over
 *   the guest stops here (SUSPENDED/migrated). The lease revision read then goes back in the
 *   cookie, and the source's job waits (at most {@linkcode CONFIRM_TIMEOUT_MS}) for Confirm.
 * - Finish (destination): once the stream is complete, the lease is taken at that revision (the
 *   commit) and the guest runs here; or, cancelled, the instance is ended.
 * - Confirm (source): by the lease: the destination's, this instance ends (STOPPED/migrated);
 *   else (cancelled, or Finish failed) the lease is fenced, the destination told to end its
 *   instance, and the guest runs on here (RESUMED/migrated).
 *
 * The client dying between Perform and Finish (or before Confirm): the source's wait ends with
 * the client's connection, and the source settles by the lease as Confirm does. Had Finish
 * committed, the lease names the destination and the source's instance ends; else the source
 * fences the lease first (rewrites it, so a Finish still in flight cannot commit at the revision
 * it carries) and runs its guest on, and the destination's instance ends (told by the source,
 * and by its own watch on the client's connection). Either way the guest runs on exactly one
 * host. A service killed at any step is settled at its restart by the lease
 * ({@linkcode FleetMigrations.settle}).
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { MigrationProgress, MigrationTuning } from "../../actors/driver_protocol.ts";
import {
  migrateOut,
  MIGRATION_ADDRESS,
  type MigrationPeer,
} from "../../actors/migration_commands.ts";
import { formatDomainXml } from "../xml/mod.ts";
import type { Host } from "../../actors/host.ts";
import type { FleetMigrations } from "./fleet_migration.ts";
import type { DomainLeases } from "../log/domain_leases.ts";
import type { DomainSummary } from "../model/domain_list.ts";

/** Longest a source waits, stopped after the switch-over, for its client's Confirm, in ms. */
export const CONFIRM_TIMEOUT_MS = 60_000;

/** Longest a cookie may be, in bytes (libvirt's `REMOTE_MIGRATE_COOKIE_MAX`). */
export const COOKIE_MAX_BYTES = 4_194_304;

/** Begin's cookie: the source and the domain's definitions. */
interface BeginCookie {
  step: "begin";
  source: string;
  uuid: string;
  definition: DomainDefinition | null;
  live: DomainDefinition;
}

/** Prepare's: the destination's migration and the port its instance listens on. */
interface PrepareCookie {
  step: "prepare";
  migration: string;
  host: string;
  port: number;
}

/** Perform's: the lease revision to commit at, and the source's final figures. */
interface PerformCookie {
  step: "perform";
  migration: string;
  revision: number;
  figures: MigrationProgress;
}

type Cookie = BeginCookie | PrepareCookie | PerformCookie;

function encodeCookie(cookie: Cookie): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ evirt: cookie }));
}

/**
 * The cookie a step takes, which the step before answered.
 *
 * @throws {VirtError} 8 (naming `cookie_in`) when it is not that step's evirt cookie.
 */
function decodeCookie<S extends Cookie["step"]>(
  bytes: Uint8Array,
  step: S,
): Extract<Cookie, { step: S }> {
  let cookie: unknown;
  try {
    cookie = (JSON.parse(new TextDecoder().decode(bytes)) as { evirt?: unknown }).evirt;
  } catch {
    cookie = undefined;
  }
  if (
    cookie === null || typeof cookie !== "object" || (cookie as { step?: unknown }).step !== step
  ) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `migration cookie: expected the answer of the step before ${
        step === "begin" ? "Prepare" : step === "prepare" ? "Perform" : "Finish"
      } from an evirt host of this fleet`,
      { where: "cookie_in" },
    );
  }
  return cookie as Extract<Cookie, { step: S }>;
}

/** The uuid an XML document's `<uuid>` names, if any. */
function uuidOfXml(xml: string): string | undefined {
  return /<uuid>\s*([0-9a-fA-F-]{32,36})\s*<\/uuid>/.exec(xml)?.[1].toLowerCase();
}

/** The uuid of this host's domain `name`; undefined: none. */
function uuidOfName(host: Host, name: string): string | undefined {
  try {
    return host.lookup(name).uuid;
  } catch {
    return undefined;
  }
}

/** A source's job waiting for its client's Confirm. */
interface Confirming {
  migration: string;
  decide(outcome: "confirmed" | "cancelled" | "abandoned"): void;
  /** The job: resolves once the guest runs on the destination; rejects when it stayed here. */
  done: Promise<MigrationProgress>;
  /** The error `done` rejects with when the guest stayed here as asked (cancelled). */
  stayed: VirtError;
}

/** Options of {@linkcode MigrationSteps}. */
export interface MigrationStepsOptions {
  host: Host;
  leases: DomainLeases;
  migrations: FleetMigrations;
  log: (message: string) => void;
}

/** The five steps of the client-driven V3 migration on one host (see the module). */
export class MigrationSteps {
  readonly #options: MigrationStepsOptions;
  /** Sources' jobs waiting for Confirm, by domain uuid (Confirm's cookie may be empty). */
  readonly #confirming = new Map<string, Confirming>();

  constructor(options: MigrationStepsOptions) {
    this.#options = options;
  }

  /**
   * Begin, on the source: the live XML and the cookie for Prepare.
   *
   * @throws {VirtError} 42 for no such domain; 55 when it is not running or already migrating;
   *   87 when another host owns it.
   */
  async begin(reference: string): Promise<{ xml: string; cookie: Uint8Array }> {
    const { host, leases } = this.#options;
    const summary = host.lookup(reference);
    if (!summary.active) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    const context = host.context(summary.uuid);
    if (context.migration !== null && context.migration !== undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain has an active migration job");
    }
    await leases.claim(summary.uuid, summary.name);
    const live = context.live!;
    return {
      xml: formatDomainXml(live),
      cookie: encodeCookie({
        step: "begin",
        source: leases.host,
        uuid: summary.uuid,
        definition: context.definition,
        live,
      }),
    };
  }

  /**
   * Prepare, on the destination: the receiving instance (see the module); the URI for Perform
   * and the cookie naming the migration. `ended`: the client's connection.
   *
   * @throws {VirtError} 8 for a cookie not from Begin or XML of another domain; 55 when the
   *   source is this host or the domain is active here; the launch's error (nothing left).
   */
  async prepare(
    cookieIn: Uint8Array,
    xml: string | null,
    ended: AbortSignal | undefined,
  ): Promise<{ cookie: Uint8Array; uri: string }> {
    const { leases, migrations } = this.#options;
    const cookie = decodeCookie(cookieIn, "begin");
    if (cookie.source === leases.host) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `Attempt to migrate guest to the same host ${leases.host}`,
      );
    }
    if (xml !== null && uuidOfXml(xml) !== cookie.uuid) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "the destination XML names another domain than the one migrated",
        { where: "destination_xml" },
      );
    }
    // libvirt's client passes Begin's XML on unchanged (a user's `--xml` is refused at Begin):
    // the destination runs the definition the cookie carries, so other XML is refused, never
    // silently replaced.
    if (xml !== null && xml !== formatDomainXml(cookie.live)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        "a destination XML other than the source's is not supported between fleet hosts",
        { where: "destination_xml" },
      );
    }
    const migration = crypto.randomUUID();
    const answer = await migrations.answer({
      op: "prepare",
      migration,
      from: cookie.source,
      definition: cookie.definition,
      live: cookie.live,
    });
    // The type allows a peer's error; `answer` throws it, so here it is a prepared port.
    if ("code" in answer || typeof answer.port !== "number") {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "prepare gave no port");
    }
    if (ended !== undefined) migrations.watchClient(migration, ended);
    return {
      cookie: encodeCookie({ step: "prepare", migration, host: leases.host, port: answer.port }),
      uri: `tcp:${MIGRATION_ADDRESS}:${answer.port}`,
    };
  }

  /**
   * Perform, on the source: sends the guest (see the module); resolves with the cookie for
   * Finish once the stream is complete, the guest stopped here, waiting for Confirm.
   *
   * @throws {VirtError} 8 for a cookie not from Prepare; as `moveLive`'s checks; the
   *   hypervisor's error (the guest runs on here, the destination's instance is ended).
   */
  async perform(
    reference: string,
    cookieIn: Uint8Array,
    tuning: MigrationTuning,
    ended: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const { host, migrations, log } = this.#options;
    const cookie = decodeCookie(cookieIn, "prepare");
    const summary = await migrations.outgoing(reference, cookie.host, tuning);
    const uuid = summary.uuid;
    if (this.#confirming.has(uuid)) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain has an active migration job");
    }
    const lease = migrations.lease(uuid);
    const destination = migrations.peer(cookie.host, cookie.migration, uuid, undefined);
    let handOver!: (cookie: PerformCookie) => void;
    const handedOver = new Promise<PerformCookie>((resolve) => handOver = resolve);
    let decide!: Confirming["decide"];
    const decided = new Promise<"confirmed" | "cancelled" | "abandoned">((resolve) =>
      decide = resolve
    );
    const stayed = new VirtError(
      ErrorCode.OPERATION_FAILED,
      `migration of domain '${summary.name}' to '${cookie.host}' was not finished there`,
    );
    const peer: MigrationPeer = {
      // The destination prepared already: its client asked it.
      prepare: () => Promise.resolve({ port: cookie.port }),
      finish: async (revision, figures) => {
        handOver({ step: "perform", migration: cookie.migration, revision, figures });
        const gone = () => decide("abandoned");
        ended?.addEventListener("abort", gone, { once: true });
        if (ended?.aborted === true) gone();
        const timer = setTimeout(() => decide("abandoned"), CONFIRM_TIMEOUT_MS);
        const outcome = await decided;
        clearTimeout(timer);
        ended?.removeEventListener("abort", gone);
        if (outcome === "abandoned") {
          log(
            `domain '${summary.name}': its migration's client left before confirming it; settled by the lease`,
          );
        }
        if (outcome !== "confirmed") throw stayed;
        // Confirmed by the client: the lease must say so, else the guest runs on here.
        if ((await lease.read())?.owner !== cookie.host) throw stayed;
      },
      abort: () => destination.abort(),
    };
    let handedOverYet = false;
    handedOver.then(() => handedOverYet = true);
    // The client gone while the stream is sent: no one will finish it; it is cancelled (the
    // guest runs on here, the destination's instance ends). Once sent, the wait above settles.
    const clientGone = () => {
      if (handedOverYet) return;
      log(`domain '${summary.name}': its migration's client left while it was sent; cancelled`);
      try {
        const control = host.migrationControl(uuid);
        control.migration.cancel(control.handle, AbortSignal.timeout(CONFIRM_TIMEOUT_MS))
          .catch(() => {});
      } catch {
        // Not running any more: nothing to cancel.
      }
    };
    ended?.addEventListener("abort", clientGone, { once: true });
    const done = host.migrationJob(
      uuid,
      (job, env) =>
        migrateOut(job, env, { migration: cookie.migration, host: cookie.host, peer, lease }),
    ).finally(() => ended?.removeEventListener("abort", clientGone));
    const entry: Confirming = { migration: cookie.migration, decide, done, stayed };
    this.#confirming.set(uuid, entry);
    const settled = done.finally(() => {
      if (this.#confirming.get(uuid) === entry) this.#confirming.delete(uuid);
    });
    settled.catch(() => {});
    const performed = await Promise.race([handedOver, settled.then(() => undefined)]);
    if (performed === undefined) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "the migration ended before its hand-over");
    }
    return encodeCookie(performed);
  }

  /**
   * Finish, on the destination: commits and runs the guest here, or (`cancelled`) ends the
   * receiving instance; the domain.
   *
   * @throws {VirtError} 8 for a cookie not from Perform; 55 when no such migration is in
   *   progress here; the commit's or stream's error (the instance is ended); 1 when cancelled.
   */
  async finish(
    cookieIn: Uint8Array,
    name: string | null,
    cancelled: boolean,
  ): Promise<DomainSummary> {
    const { host, migrations } = this.#options;
    if (cancelled) {
      // Perform failed: its cookie may be empty; the domain is named.
      const uuid = name === null ? undefined : uuidOfName(host, name);
      const migration = uuid === undefined ? undefined : migrations.incomingOf(uuid);
      if (uuid !== undefined && migration !== undefined) {
        await migrations.abortIncoming(migration, uuid);
      }
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `migration of domain '${name ?? "?"}' was cancelled: its instance here is ended`,
      );
    }
    const cookie = decodeCookie(cookieIn, "perform");
    const uuid = name === null ? undefined : uuidOfName(host, name);
    if (uuid === undefined || migrations.incomingOf(uuid) !== cookie.migration) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `no incoming migration '${cookie.migration}' of domain '${name ?? "?"}' here`,
      );
    }
    const answer = await migrations.answer({
      op: "finish",
      migration: cookie.migration,
      uuid,
      revision: cookie.revision,
      figures: cookie.figures,
    });
    // The type allows a peer's error; `answer` throws it with its own code.
    if ("code" in answer) throw new VirtError(ErrorCode.INTERNAL_ERROR, answer.message);
    return host.lookup(uuid);
  }

  /**
   * Confirm, on the source: the guest ends here (it runs on the destination) or, `cancelled`,
   * runs on here; both by the lease (see the module).
   *
   * @throws {VirtError} 55 when the domain awaits no Confirm; the settle's error; 1 when it was
   *   confirmed but the destination does not hold the lease (the guest runs on here).
   */
  async confirm(reference: string, cancelled: boolean): Promise<void> {
    const uuid = this.#options.host.lookup(reference).uuid;
    const entry = this.#confirming.get(uuid);
    if (entry === undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        "domain has no migration waiting for confirmation",
      );
    }
    entry.decide(cancelled ? "cancelled" : "confirmed");
    try {
      await entry.done;
    } catch (error) {
      if (cancelled && error === entry.stayed) return;
      throw error;
    }
  }
}
