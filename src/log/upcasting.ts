/**
 * Upgrading fact bodies written in an old schema version to the current one, on read.
 *
 * @module
 */

import { EventStoreArgumentError, EventStoreCorruptError } from "./errors.ts";
import { type JsonValue, SCHEMA_VERSION_MAX, type Upcasters } from "./event_store.ts";

type Step = (body: JsonValue) => JsonValue;

/**
 * The checked upcasters of one store: the current schema version of each fact type and the chain
 * that brings an old body up to it.
 *
 * @example Upgrading a version-1 body
 * ```ts
 * import { Upcasting } from "./upcasting.ts";
 * const upcasting = new Upcasting({
 *   DomainStarted: { 1: (body) => ({ ...(body as object), reason: "booted" }) },
 * });
 * console.log(upcasting.currentVersion("DomainStarted")); // 2
 * console.log(upcasting.upgrade(7, "DomainStarted", 1, { pid: 1 })); // { pid: 1, reason: "booted" }
 * ```
 */
export class Upcasting {
  readonly #steps = new Map<string, Step[]>();

  /**
   * @param upcasters `upcasters[type][n]` turns a version-`n` body into a version-`n + 1` one.
   * @throws {EventStoreArgumentError} When a type's versions do not run 1, 2, … without a gap, or
   *   an entry is not a function.
   */
  constructor(upcasters: Upcasters = {}) {
    for (const [type, byVersion] of Object.entries(upcasters)) {
      const versions = Object.keys(byVersion).map(Number).sort((a, b) => a - b);
      const steps: Step[] = [];
      versions.forEach((version, index) => {
        const step = byVersion[version];
        if (version !== index + 1 || typeof step !== "function") {
          throw new EventStoreArgumentError(
            `upcasters.${type}`,
            `upcasters of fact type '${type}' must be functions keyed 1, 2, … without a gap`,
          );
        }
        steps.push(step);
      });
      if (steps.length >= SCHEMA_VERSION_MAX) {
        throw new EventStoreArgumentError(`upcasters.${type}`, "too many upcasters");
      }
      if (steps.length > 0) this.#steps.set(type, steps);
    }
  }

  /** Whether an upcaster is registered for `type`, which makes the type known to the log. */
  handles(type: string): boolean {
    return this.#steps.has(type);
  }

  /** The schema version new facts of `type` are written in: one past its last upcaster, or 1. */
  currentVersion(type: string): number {
    return (this.#steps.get(type)?.length ?? 0) + 1;
  }

  /**
   * Brings `body` from `schemaVersion` up to the current version of `type`.
   *
   * @param position The fact's position, for the error.
   * @param type The fact's type.
   * @param schemaVersion The version `body` is written in.
   * @param body The stored body (a fresh copy the steps may change).
   * @returns The upgraded body.
   * @throws {EventStoreCorruptError} When a step throws, or the stored version is newer than the
   *   current one (the log was written by a newer evirt).
   */
  upgrade(position: number, type: string, schemaVersion: number, body: JsonValue): JsonValue {
    const steps = this.#steps.get(type);
    const current = (steps?.length ?? 0) + 1;
    if (schemaVersion === current) return body;
    if (steps === undefined || schemaVersion > current) {
      throw new EventStoreCorruptError(
        `fact ${position} of type '${type}' has schema version ${schemaVersion}, newer than the known ${current}`,
      );
    }
    let upgraded = body;
    for (let version = schemaVersion; version < current; version++) {
      try {
        upgraded = steps[version - 1](upgraded);
      } catch (error) {
        throw new EventStoreCorruptError(
          `cannot upgrade fact ${position} of type '${type}' from schema version ${version}`,
          error,
        );
      }
    }
    return upgraded;
  }
}
