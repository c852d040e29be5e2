/**
 * Who writes a domain's serial console, and a console another host of the fleet carries: the
 * rule the console socket applies on the domain's host, whichever host the caller reached.
 *
 * @module
 */

import type { Role } from "./api_context.ts";

/** A console socket's request as it travels to the domain's owner. */
export interface ConsoleRequest {
  /** The domain's uuid. */
  uuid: string;
  /** The character device (`serial0`…); absent: the first console. */
  device?: string;
  /** The caller's role on the host it reached. */
  role: Role;
  /** Asked to view only (`view=1`). */
  view: boolean;
  /** Ends another writer's session (`force=1`). */
  force: boolean;
}

/** A console carried from its owner: its output, and a way to type into it. */
export interface CarriedConsole {
  /** The next output; null at the end; rejects when the stream failed. */
  read(): Promise<Uint8Array | number | null>;
  write(bytes: Uint8Array): Promise<void>;
  /** Ends it (and the owner's side); idempotent. */
  close(): void;
}

/**
 * Whether a caller writes the console: read-write callers that did not ask to view only.
 *
 * @example
 * ```ts
 * import { consoleWriter } from "./console_access.ts";
 * consoleWriter("read-only", false); // false: it watches
 * ```
 */
export function consoleWriter(role: Role, viewOnly: boolean): boolean {
  return role === "read-write" && !viewOnly;
}
