/**
 * The facts of a secret's life, as stored in the event log: one stream per secret
 * (`secret/<uuid>`). No fact ever holds a secret's value: `secret.value_set` records only that
 * a value was set and the file it is about to be written to (encrypted, `src/host/secret_values.ts`).
 *
 * @module
 */

import type { SecretDefinition } from "./secret.ts";

/** The stream of the secret with `uuid`. */
export function secretStream(uuid: string): string {
  return `secret/${uuid}`;
}

/** The body of each secret fact type. */
export interface SecretFactBodies {
  /** A secret definition was added or replaced. */
  "secret.defined": { definition: SecretDefinition; detail: "added" | "updated" };
  /** The secret is gone; its value file (if any) is about to be removed. */
  "secret.undefined": Record<string, never>;
  /**
   * Intent: a value is about to be set. `file` names the encrypted file about to be written (a
   * persistent secret), absent for an ephemeral secret (its value lives in memory only).
   */
  "secret.value_set": { file?: string };
}

/** Every secret fact type. */
export type SecretFactType = keyof SecretFactBodies;

/** A secret fact: its type and body. */
export type SecretFact = {
  [T in SecretFactType]: { type: T; body: SecretFactBodies[T] };
}[SecretFactType];

/** What each fact records (see `facts.ts`): a decision, an intent, or a happening. */
export const SECRET_FACT_KINDS: Readonly<
  Record<SecretFactType, "decision" | "intent" | "happening">
> = {
  "secret.defined": "decision",
  "secret.undefined": "decision",
  "secret.value_set": "intent",
};

/** Every secret fact type, for validation of facts read from the log. */
export const SECRET_FACT_TYPES: readonly SecretFactType[] = Object.keys(
  SECRET_FACT_KINDS,
) as SecretFactType[];
