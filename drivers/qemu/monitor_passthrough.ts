/**
 * `qemu-monitor-command`: a raw QMP command (JSON text) or HMP line passed to a domain's QEMU,
 * and the reply as libvirt answers it (`{"return": …}`, or QEMU's `{"error": {class, desc}}`,
 * which is a reply, not a failure). The first such command of an instance marks the domain
 * tainted in its log, as libvirt writes `Domain id=N is tainted: custom-monitor`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { appendQemuLog } from "./qemu_log_file.ts";
import type { QmpCommands } from "./qmp_commands.ts";
import { QmpCommandError } from "./qmp_errors.ts";

/** Longest a passed-through command may take, in ms (QEMU's own class timeouts apply first). */
export const PASSTHROUGH_TIMEOUT_MS = 30_000;

/** A raw QMP command as a caller wrote it. */
export interface RawQmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

/**
 * Reads a raw QMP command: JSON with a string `execute` and an object `arguments` if any.
 *
 * @throws {VirtError} Code 1 as libvirt (`cannot parse json …`) for anything else.
 *
 * @example
 * ```ts
 * import { parseRawCommand } from "./monitor_passthrough.ts";
 * console.log(parseRawCommand('{"execute":"query-status"}').execute); // "query-status"
 * ```
 */
export function parseRawCommand(text: string): RawQmpCommand {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `cannot parse json ${text}: ${(error as Error).message}`,
      { where: "cmd" },
    );
  }
  const record = value as { execute?: unknown; arguments?: unknown } | null;
  if (record === null || typeof record !== "object" || typeof record.execute !== "string") {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "cannot parse json: a QMP command is an object with a string 'execute'",
      { where: "cmd" },
    );
  }
  const args = record.arguments;
  if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "QMP 'arguments' must be an object", {
      where: "cmd",
    });
  }
  return {
    execute: record.execute,
    ...(args === undefined ? {} : { arguments: args as Record<string, unknown> }),
  };
}

/**
 * Runs the command and answers the reply text.
 *
 * @throws {VirtError} Parse errors (code 1), and what the monitor throws besides QEMU's own
 *   refusal (a timeout, a closed monitor).
 */
export async function passThrough(
  qmp: QmpCommands,
  command: string,
  options: { hmp: boolean },
  signal: AbortSignal,
): Promise<string> {
  const call = { signal: AbortSignal.any([signal, AbortSignal.timeout(PASSTHROUGH_TIMEOUT_MS)]) };
  if (options.hmp) return await qmp.humanMonitorCommand(command, call);
  const raw = parseRawCommand(command);
  try {
    const value = await qmp.passthrough(raw.execute, raw.arguments, call);
    return JSON.stringify({ return: value ?? {} });
  } catch (error) {
    if (error instanceof QmpCommandError) {
      return JSON.stringify({ error: { class: error.class, desc: error.desc } });
    }
    throw error;
  }
}

/**
 * Writes libvirt's taint line to a domain's log file.
 *
 * @example
 * ```ts ignore
 * logTaint("/var/log/evirt/qemu/web.log", 3, "custom-monitor", new Date());
 * // 2026-01-02 03:04:05.678+0000: Domain id=3 is tainted: custom-monitor
 * ```
 */
export function logTaint(logPath: string, id: number, taint: string, now: Date): void {
  const stamp = now.toISOString().replace("T", " ").replace("Z", "+0000");
  appendQemuLog(logPath, `${stamp}: Domain id=${id} is tainted: ${taint}\n`);
}
