/**
 * The named domain commands of the host (`start`, `shutdown`, `destroy`, …): typed shorthands
 * for {@linkcode DomainCommandMethods.command}, the one dispatch of the operations table's
 * commands. `Host` inherits them; they hold no state.
 *
 * @module
 */

import type { DomainCommandArguments, DomainJobName } from "./domain_dispatch.ts";
import type { MetadataScope } from "./domain_commands.ts";

/** Options every command takes. */
export interface CommandOptions {
  /** How long to wait for a busy domain, in ms. Default: the host's (10 s). */
  queueTimeoutMs?: number;
  /** Abandons the wait when aborted. */
  signal?: AbortSignal;
}

/**
 * The shorthands, over an implementation of `command`.
 *
 * @example
 * ```ts ignore
 * await host.suspend("web"); // host.command("suspend", "web", {}, {})
 * ```
 */
export abstract class DomainCommandMethods {
  /** Runs one domain command in the domain's queue (see `Host.command`). */
  abstract command<Name extends DomainJobName>(
    name: Name,
    reference: string,
    args: DomainCommandArguments[Name],
    options?: CommandOptions,
  ): Promise<void>;

  /** Removes a domain's persistent definition (an active one continues as transient). */
  undefine(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.command("undefine", reference, {}, options);
  }

  /**
   * Starts a defined domain, optionally with its CPUs paused, a managed save image read past
   * the page cache with `bypassCache`.
   */
  start(
    reference: string,
    options: CommandOptions & { paused?: boolean; bypassCache?: boolean } = {},
  ): Promise<void> {
    return this.command("start", reference, {
      paused: options.paused,
      ...(options.bypassCache === true ? { bypassCache: true } : {}),
    }, options);
  }

  /** Asks the guest to shut down; with `timeoutMs`, destroys it if still active by then. */
  shutdown(
    reference: string,
    options: CommandOptions & { timeoutMs?: number } = {},
  ): Promise<void> {
    return this.command("shutdown", reference, { timeoutMs: options.timeoutMs }, options);
  }

  /** Ends a domain's instance now. */
  destroy(reference: string, options: CommandOptions & { graceful?: boolean } = {}): Promise<void> {
    return this.command("destroy", reference, { graceful: options.graceful }, options);
  }

  /** Asks the guest to reboot. */
  reboot(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.command("reboot", reference, {}, options);
  }

  /** Resets the guest now. */
  reset(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.command("reset", reference, {}, options);
  }

  /** Stops the domain's CPUs. */
  suspend(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.command("suspend", reference, {}, options);
  }

  /** Runs the domain's CPUs again. */
  resume(reference: string, options: CommandOptions = {}): Promise<void> {
    return this.command("resume", reference, {}, options);
  }

  /** Switches autostart. */
  setAutostart(reference: string, autostart: boolean, options: CommandOptions = {}): Promise<void> {
    return this.command("autostart", reference, { autostart }, options);
  }

  /** Sets the title, description or a metadata element. */
  setMetadata(
    reference: string,
    change: DomainCommandArguments["metadata"]["change"],
    scope: MetadataScope,
    options: CommandOptions = {},
  ): Promise<void> {
    return this.command("metadata", reference, { change, scope }, options);
  }
}
