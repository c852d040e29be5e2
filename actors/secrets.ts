/**
 * Every secret of the host (libvirt's secret driver): define, undefine, lookups by uuid and by
 * usage, the XML, and values — set, read (refused for a private secret) and handed to drivers
 * (a LUKS disk's passphrase). Definitions live in the secret log (one stream per secret);
 * values never do: a persistent secret's value is kept encrypted in a file
 * (`src/host/secret_values.ts`), an ephemeral secret's in memory only.
 *
 * Changes run one at a time. A value is set as intent before action: `secret.value_set` names
 * the file, then the file is written. At open the log is replayed and reality wins: a secret
 * whose file is missing (a crash between the fact and the first write) has no value; a crash
 * between the fact and the write of a new value leaves the file's earlier value, which is the
 * one served (the file is replaced atomically, so it is always one whole value); a value file of
 * a secret no longer defined (a crash between `secret.undefined` and the removal) or made
 * ephemeral is removed.
 *
 * @module
 */

import type { EventStore, JsonValue } from "../src/log/event_store.ts";
import { READ_LIMIT_MAX } from "../src/log/event_store.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import {
  SECRET_VALUE_MAX_BYTES,
  SECRET_XML_MAX_BYTES,
  type SecretDefinition,
  SECRETS_MAX,
  type SecretUsage,
} from "../src/model/secret.ts";
import { type SecretFact, secretStream } from "../src/model/secret_facts.ts";
import { SecretValues } from "../src/host/secret_values.ts";
import { formatSecretXml } from "../src/xml/format_secret.ts";
import { parseSecretXml } from "../src/xml/parse_secret.ts";

/** Options of {@linkcode Secrets.open}. */
export interface SecretsOptions {
  /** The secret log. */
  store: EventStore;
  /** The folder of the encrypted value files and the host's key. */
  valuesDir: string;
  /** Where notes of recovery go. */
  log?: (message: string) => void;
}

/** What a lifecycle listener hears: libvirt's secret event (0 defined, 1 undefined) or a value change. */
export type SecretChange =
  | { kind: "defined" | "undefined"; secret: SecretDefinition }
  | { kind: "value_changed"; secret: SecretDefinition };

interface SecretRecord {
  definition: SecretDefinition;
  /** The stream's version. */
  version: number;
  /** The value: a copy in memory (ephemeral ones only live here). */
  value?: Uint8Array;
}

/** A reference to a secret from a domain's XML: by uuid, or by usage. */
export type SecretReference = { uuid: string } | { usage: string; type?: string };

/**
 * The host's secrets.
 *
 * @example
 * ```ts ignore
 * const secrets = await Secrets.open({ store, valuesDir: `${stateDir}/secret/values` });
 * const secret = await secrets.define("<secret><usage type='volume'><volume>/a.img</volume></usage></secret>");
 * await secrets.setValue(secret.uuid, new TextEncoder().encode("pass"));
 * ```
 */
export class Secrets {
  readonly #store: EventStore;
  readonly #values: SecretValues;
  readonly #records = new Map<string, SecretRecord>();
  readonly #listeners = new Set<(change: SecretChange) => void>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(store: EventStore, values: SecretValues) {
    this.#store = store;
    this.#values = values;
  }

  /** Replays the secret log, reads the values, and removes value files of undefined secrets. */
  static async open(options: SecretsOptions): Promise<Secrets> {
    const secrets = new Secrets(options.store, SecretValues.open(options.valuesDir));
    const log = options.log ?? (() => {});
    const valueSet = new Set<string>();
    let after = 0;
    for (;;) {
      const page = await options.store.readAll({ afterPosition: after, limit: READ_LIMIT_MAX });
      for (const fact of page) {
        const uuid = fact.stream.startsWith("secret/") ? fact.stream.slice(7) : undefined;
        if (uuid === undefined) continue;
        const { type, body } = fact as unknown as SecretFact;
        if (type === "secret.defined") {
          const current = secrets.#records.get(uuid);
          secrets.#records.set(uuid, { ...current, definition: body.definition, version: 0 });
        } else if (type === "secret.undefined") {
          secrets.#records.delete(uuid);
          valueSet.delete(uuid);
        } else if (type === "secret.value_set" && body.file !== undefined) {
          valueSet.add(uuid);
        }
        const record = secrets.#records.get(uuid);
        if (record !== undefined) record.version = fact.version;
      }
      if (page.length < READ_LIMIT_MAX) break;
      after = page[page.length - 1].position;
    }
    const stored = new Set(secrets.#values.uuids());
    for (const uuid of stored) {
      if (!secrets.#records.has(uuid)) {
        log(`removing the value file of secret ${uuid}, which is no longer defined`);
        secrets.#values.remove(uuid);
      }
    }
    for (const [uuid, record] of secrets.#records) {
      if (record.definition.ephemeral) {
        // A secret made ephemeral keeps no value at rest: a file left by a crash between its
        // fact and the file's removal goes now.
        if (stored.has(uuid)) {
          log(`removing the value file of secret ${uuid}, which is ephemeral`);
          secrets.#values.remove(uuid);
        }
        continue;
      }
      try {
        const value = secrets.#values.read(uuid);
        if (value !== undefined) record.value = value;
        else if (valueSet.has(uuid)) log(`secret ${uuid} has no value: its file was not written`);
      } catch (error) {
        log((error as Error).message);
      }
    }
    return secrets;
  }

  /** Every secret's definition. */
  list(): SecretDefinition[] {
    return [...this.#records.values()].map((record) => record.definition);
  }

  /**
   * The secret with `uuid`.
   *
   * @throws {VirtError} 66 `no secret with matching uuid`.
   */
  byUuid(uuid: string): SecretDefinition {
    return this.#record(uuid).definition;
  }

  /**
   * The secret with a usage (`virSecretLookupByUsage`).
   *
   * @throws {VirtError} 66 `no secret with matching usage`.
   */
  byUsage(type: SecretUsage["type"], id: string): SecretDefinition {
    const found = this.list().find((secret) =>
      secret.usage?.type === type && secret.usage.id === id
    );
    if (found === undefined) {
      throw new VirtError(ErrorCode.NO_SECRET, `no secret with matching usage '${id}'`);
    }
    return found;
  }

  /** A secret's XML. */
  xml(uuid: string): string {
    return formatSecretXml(this.byUuid(uuid));
  }

  /** Whether the secret has a value. */
  hasValue(uuid: string): boolean {
    return this.#record(uuid).value !== undefined;
  }

  /**
   * Defines or redefines a secret from XML, with libvirt 9.0's checks.
   *
   * @throws {VirtError} The parser's errors; 1 for a usage another secret has, a changed usage,
   *   or a private secret made public; 87 when the host holds {@linkcode SECRETS_MAX}.
   */
  define(xml: string): Promise<SecretDefinition> {
    const definition = parseSecretXml(xml, () => crypto.randomUUID(), {
      maxBytes: SECRET_XML_MAX_BYTES,
    });
    return this.#serialized(async () => {
      const existing = this.#records.get(definition.uuid);
      const usageText = (usage?: SecretUsage) => usage?.id ?? "";
      if (existing !== undefined) {
        const old = existing.definition;
        if (
          old.usage?.type !== definition.usage?.type || old.usage?.id !== definition.usage?.id
        ) {
          throw new VirtError(
            ErrorCode.INTERNAL_ERROR,
            `a secret with UUID ${old.uuid} is already defined for use with ${
              usageText(old.usage)
            }`,
          );
        }
        if (old.private && !definition.private) {
          throw new VirtError(
            ErrorCode.INTERNAL_ERROR,
            "cannot change private flag on existing secret",
          );
        }
      } else {
        const clash = definition.usage === undefined
          ? undefined
          : this.list().find((secret) =>
            secret.usage?.type === definition.usage!.type &&
            secret.usage.id === definition.usage!.id
          );
        if (clash !== undefined) {
          throw new VirtError(
            ErrorCode.INTERNAL_ERROR,
            `a secret with UUID ${clash.uuid} already defined for use with ${
              usageText(clash.usage)
            }`,
          );
        }
        if (this.#records.size >= SECRETS_MAX) {
          throw new VirtError(
            ErrorCode.RESOURCE_BUSY,
            `the host holds ${SECRETS_MAX} secrets, the most it keeps`,
          );
        }
      }
      const version = await this.#append(definition.uuid, existing?.version ?? 0, {
        type: "secret.defined",
        body: { definition, detail: existing === undefined ? "added" : "updated" },
      });
      const record: SecretRecord = { definition, version };
      if (existing?.value !== undefined) record.value = existing.value;
      this.#records.set(definition.uuid, record);
      // A value moves with the secret's kind: off the disk when it becomes ephemeral, onto it
      // when it becomes persistent.
      if (existing !== undefined && record.value !== undefined) {
        if (definition.ephemeral && !existing.definition.ephemeral) {
          this.#values.remove(definition.uuid);
        } else if (!definition.ephemeral && existing.definition.ephemeral) {
          await this.#writeValue(record, record.value);
        }
      }
      this.#tell({ kind: "defined", secret: definition });
      return definition;
    });
  }

  /**
   * Removes a secret and its value.
   *
   * @throws {VirtError} 66 for an unknown secret.
   */
  undefine(uuid: string): Promise<void> {
    return this.#serialized(async () => {
      const record = this.#record(uuid);
      await this.#append(uuid, record.version, { type: "secret.undefined", body: {} });
      this.#records.delete(uuid);
      this.#values.remove(uuid);
      this.#tell({ kind: "undefined", secret: record.definition });
    });
  }

  /**
   * Sets a secret's value.
   *
   * @throws {VirtError} 66 for an unknown secret; 8 for a value over 64 KiB.
   */
  setValue(uuid: string, value: Uint8Array): Promise<void> {
    if (value.length > SECRET_VALUE_MAX_BYTES) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `secret value is ${value.length} bytes, more than ${SECRET_VALUE_MAX_BYTES}`,
      );
    }
    const copy = value.slice();
    return this.#serialized(async () => {
      const record = this.#record(uuid);
      await this.#writeValue(record, copy);
      this.#tell({ kind: "value_changed", secret: record.definition });
    });
  }

  /**
   * A secret's value as a caller reads it (`virSecretGetValue`).
   *
   * @throws {VirtError} 65 `secret is private`; 66 for an unknown secret or one without a value.
   */
  value(uuid: string): Uint8Array {
    const record = this.#record(uuid);
    if (record.definition.private) {
      throw new VirtError(ErrorCode.INVALID_SECRET, "secret is private");
    }
    return this.#valueOf(record);
  }

  /**
   * A secret's value for the host's own use (a disk's passphrase): private secrets too.
   *
   * @throws {VirtError} 66 for an unknown secret or one without a value.
   */
  internalValue(reference: SecretReference): Uint8Array {
    if ("uuid" in reference) return this.#valueOf(this.#record(reference.uuid));
    const found = this.list().find((secret) =>
      secret.usage?.id === reference.usage &&
      (reference.type === undefined || secret.usage.type === reference.type)
    );
    if (found === undefined) {
      throw new VirtError(
        ErrorCode.NO_SECRET,
        `no secret with matching usage '${reference.usage}'`,
      );
    }
    return this.#valueOf(this.#record(found.uuid));
  }

  /** Calls `listener` after each change; returns its removal. */
  onChange(listener: (change: SecretChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Waits for the change running now. */
  async close(): Promise<void> {
    await this.#queue.catch(() => {});
  }

  #valueOf(record: SecretRecord): Uint8Array {
    if (record.value === undefined) {
      throw new VirtError(
        ErrorCode.NO_SECRET,
        `secret '${record.definition.uuid}' does not have a value`,
      );
    }
    return record.value.slice();
  }

  async #writeValue(record: SecretRecord, value: Uint8Array): Promise<void> {
    const uuid = record.definition.uuid;
    const file = record.definition.ephemeral ? undefined : this.#values.fileOf(uuid);
    // Intent before action: the fact names the file about to be written.
    record.version = await this.#append(uuid, record.version, {
      type: "secret.value_set",
      body: file === undefined ? {} : { file },
    });
    if (file !== undefined) this.#values.write(uuid, value);
    record.value = value;
  }

  #record(uuid: string): SecretRecord {
    const record = this.#records.get(uuid);
    if (record === undefined) {
      throw new VirtError(ErrorCode.NO_SECRET, `no secret with matching uuid '${uuid}'`);
    }
    return record;
  }

  async #append(uuid: string, version: number, fact: SecretFact): Promise<number> {
    const result = await this.#store.append(
      secretStream(uuid),
      [{ type: fact.type, body: fact.body as unknown as JsonValue }],
      version,
    );
    return result.streamVersion;
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  #tell(change: SecretChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
