/**
 * How a failed command is reported: virsh's `error: …` lines on stderr. A command that knows what
 * it was doing says so first (`error: Failed to start domain 'x'`), then the service's libvirt
 * message follows on its own line (`error: Requested operation is not valid: …`).
 *
 * @module
 */

import { ErrorCode, isVirtError, VirtError } from "../model/errors.ts";
import { ArgumentError } from "./arguments.ts";

/**
 * A command that failed, with what it was doing and why.
 *
 * @example
 * ```ts
 * import { CommandFailure } from "./command_failure.ts";
 * const failure = new CommandFailure("Failed to start domain 'x'");
 * console.log(failure.message); // "Failed to start domain 'x'"
 * ```
 */
export class CommandFailure extends Error {
  /**
   * @param message What the command was doing, in virsh's words.
   * @param cause Why it failed; its libvirt message is printed on the next line.
   */
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "CommandFailure";
  }
}

/**
 * The lines to print on stderr for an error (each without `error: `).
 *
 * - {@linkcode ArgumentError}: its message alone.
 * - {@linkcode CommandFailure}: its message, then its cause's lines.
 * - a {@linkcode VirtError}: libvirt's full message (`Domain not found: …`); an unreachable
 *   service first says `failed to connect to the hypervisor`, as virsh does.
 * - anything else: its message (a bug; the stack goes to stderr when `EVIRT_DEBUG` is set).
 *
 * @example
 * ```ts
 * import { ErrorCode, VirtError } from "../model/errors.ts";
 * import { CommandFailure, errorLines } from "./command_failure.ts";
 * const cause = new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
 * console.log(errorLines(new CommandFailure("Failed to suspend domain 'x'", cause)));
 * // ["Failed to suspend domain 'x'", "Requested operation is not valid: domain is not running"]
 * ```
 */
export function errorLines(error: unknown): string[] {
  if (error instanceof ArgumentError) return [error.message];
  if (error instanceof CommandFailure) {
    return error.cause === undefined
      ? [error.message]
      : [error.message, ...errorLines(error.cause).filter((line) => line !== error.message)];
  }
  if (isVirtError(error, ErrorCode.NO_CONNECT)) {
    return ["failed to connect to the hypervisor", error.message];
  }
  if (error instanceof VirtError) return [error.fullMessage];
  if (error instanceof Error) return [error.message];
  return [String(error)];
}

/**
 * Runs a domain command: a missing domain becomes virsh's `failed to get domain 'REF'`, any other
 * failure `CONTEXT` followed by the service's message.
 *
 * @param reference The domain as the user named it.
 * @param context virsh's failure line, e.g. `Failed to start domain 'x'`.
 * @param command The command.
 * @throws {CommandFailure} When the command fails.
 *
 * @example
 * ```ts ignore
 * await domainCommand("web", "Failed to start domain 'web'", () => client.action("web", "start"));
 * ```
 */
export async function domainCommand<T>(
  reference: string,
  context: string | undefined,
  command: () => Promise<T>,
): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw domainFailure(reference, context, error);
  }
}

/**
 * The failure to report for an error of a command on domain `reference` (see
 * {@linkcode domainCommand}).
 *
 * @example
 * ```ts
 * import { ErrorCode, VirtError } from "../model/errors.ts";
 * import { domainFailure } from "./command_failure.ts";
 * const failure = domainFailure("web", undefined, new VirtError(ErrorCode.NO_DOMAIN, "gone"));
 * console.log((failure as Error).message); // "failed to get domain 'web'"
 * ```
 */
export function domainFailure(
  reference: string,
  context: string | undefined,
  error: unknown,
): unknown {
  if (isVirtError(error, ErrorCode.NO_DOMAIN)) {
    return new CommandFailure(`failed to get domain '${reference}'`);
  }
  if (context === undefined || isVirtError(error, ErrorCode.NO_CONNECT)) return error;
  return new CommandFailure(context, error);
}

/**
 * Runs a command whose failure virsh reports with its own line first (`failed to get
 * capabilities`), then the service's message; an unreachable service is reported as such.
 *
 * @throws {CommandFailure} When the command fails with a libvirt error.
 *
 * @example
 * ```ts ignore
 * await asFailure("failed to get capabilities", () => client.capabilities());
 * ```
 */
export async function asFailure<T>(line: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    if (error instanceof VirtError && error.code !== ErrorCode.NO_CONNECT) {
      throw new CommandFailure(line, error);
    }
    throw error;
  }
}
