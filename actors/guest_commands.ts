/**
 * The commands that talk to a running guest without changing its lifecycle: `send-key`,
 * `screenshot`, `qemu-monitor-command` and `qemu-agent-command`. Each checks the domain as libvirt
 * does (it must be running; the driver must offer the call, else code 3), then asks its driver.
 * They take no turn in the domain's queue: none of them records a fact.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { checkKeys, type Codeset, linuxToQnumber } from "../src/model/keycodes.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import type { DomainHandle, Driver, Screenshot } from "./driver_protocol.ts";

/** The agent's default wait (`VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT`, -2), in seconds. */
export const AGENT_TIMEOUT_SECONDS_DEFAULT = 5;

/** The longest wait for the agent (`-1`, "block", is bounded here), in seconds. */
export const AGENT_TIMEOUT_SECONDS_MAX = 300;

/** The running instance and its driver, or libvirt's refusal. */
function running(
  inspection: DomainInspection,
): { handle: DomainHandle; driver: Driver } {
  const { handle, driver } = inspection;
  if (handle === undefined || driver === undefined) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  return { handle, driver };
}

function unsupported(api: string): VirtError {
  return new VirtError(ErrorCode.NO_SUPPORT, api);
}

/**
 * Presses keys in the guest. The codes are checked against the codeset first (as libvirt's
 * test driver does), then translated to QEMU's numbers.
 *
 * @throws {VirtError} Code 55 when not running, 1 for a code outside the codeset or without a
 *   QEMU number, 8 for a wrong count, 3 when the driver cannot send keys.
 */
export async function sendKey(
  inspection: DomainInspection,
  request: { codeset: Codeset; codes: number[]; holdTimeMs: number },
  signal: AbortSignal,
): Promise<void> {
  const linuxCodes = checkKeys(request.codeset, request.codes);
  const { handle, driver } = running(inspection);
  if (driver.sendKey === undefined) throw unsupported("virDomainSendKey");
  const qnums = linuxCodes.map((linux, index) => {
    const qnum = linuxToQnumber(linux);
    if (qnum === undefined) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `cannot translate keycode ${
          request.codes[index]
        } of ${request.codeset} codeset to qnum keycode`,
      );
    }
    return qnum;
  });
  await driver.sendKey(handle, { qnums, linuxCodes, holdTimeMs: request.holdTimeMs }, signal);
}

/**
 * An image of the guest's display.
 *
 * @throws {VirtError} Code 55 when not running, 3 when the driver cannot take screenshots.
 */
export async function screenshot(
  inspection: DomainInspection,
  screen: number,
  signal: AbortSignal,
): Promise<Screenshot> {
  const { handle, driver } = running(inspection);
  if (driver.screenshot === undefined) throw unsupported("virDomainScreenshot");
  return await driver.screenshot(handle, screen, signal);
}

/**
 * Passes a raw monitor command; the driver marks the domain tainted in its log.
 *
 * @throws {VirtError} Code 55 when not running, 3 when the driver has no such monitor.
 */
export async function monitorCommand(
  inspection: DomainInspection,
  command: string,
  options: { hmp: boolean },
  signal: AbortSignal,
): Promise<string> {
  const { driver } = inspection;
  if (driver?.monitorCommand === undefined) throw unsupported("virDomainQemuMonitorCommand");
  const { handle } = running(inspection);
  return await driver.monitorCommand(handle, command, options, signal);
}

/**
 * Passes a raw command to the guest agent.
 *
 * @param timeoutSeconds libvirt's values: -2 the default, -1 block (bounded here by
 *   {@linkcode AGENT_TIMEOUT_SECONDS_MAX}), 0 do not wait, else seconds.
 * @throws {VirtError} Code 55 when not running, 74 without an agent channel, 86 when the agent
 *   does not answer, 3 when the driver has no agent.
 */
export async function agentCommand(
  inspection: DomainInspection,
  command: string,
  timeoutSeconds: number,
  signal: AbortSignal,
): Promise<string> {
  const { driver } = inspection;
  if (driver?.agentCommand === undefined) throw unsupported("virDomainQemuAgentCommand");
  const { handle } = running(inspection);
  const seconds = timeoutSeconds === -2
    ? AGENT_TIMEOUT_SECONDS_DEFAULT
    : timeoutSeconds === -1
    ? AGENT_TIMEOUT_SECONDS_MAX
    : timeoutSeconds;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > AGENT_TIMEOUT_SECONDS_MAX) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `timeout must be -2, -1 or 0 to 300, got ${timeoutSeconds}`,
      {
        where: "timeout",
      },
    );
  }
  return await driver.agentCommand(handle, command, seconds * 1000, signal);
}

/** A JSON.parse reviver that reads an integer beyond 2^53 from its source text, as a bigint. */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && /^-?\d+$/.test(source) ? BigInt(source) : value;
}

/**
 * Runs one agent command for a typed query and answers its `return` value, with libvirt's
 * errors: the agent's own error as code 1 `unable to execute QEMU agent command '…': …`, a reply
 * without `return` as code 1 too.
 */
async function agentQuery(
  inspection: DomainInspection,
  execute: string,
  signal: AbortSignal,
): Promise<unknown> {
  const text = await agentCommand(
    inspection,
    JSON.stringify({ execute }),
    AGENT_TIMEOUT_SECONDS_DEFAULT,
    signal,
  );
  let reply: { return?: unknown; error?: { desc?: unknown } };
  try {
    // Integers beyond 2^53 (the guest's clock in ns) are kept exact, as bigints.
    reply = JSON.parse(text, exactIntegers);
  } catch {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `malformed reply of agent command '${execute}'`);
  }
  if (reply.error !== undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `unable to execute QEMU agent command '${execute}': ${String(reply.error.desc ?? "error")}`,
    );
  }
  if (!("return" in reply)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `agent command '${execute}' returned nothing`);
  }
  return reply.return;
}

/**
 * The guest's clock as its agent reads it (`virsh domtime`, agent `guest-get-time`).
 *
 * @throws {VirtError} Code 55 when not running, 74 without an agent channel, 86 when the agent
 *   does not answer, 1 for an agent error or a reply that is not a time.
 */
export async function guestTime(
  inspection: DomainInspection,
  signal: AbortSignal,
): Promise<{ seconds: number; nseconds: number }> {
  const value = await agentQuery(inspection, "guest-get-time", signal);
  const ns = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof ns !== "bigint" || ns < 0n) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "malformed return value of 'guest-get-time'");
  }
  return { seconds: Number(ns / 1_000_000_000n), nseconds: Number(ns % 1_000_000_000n) };
}

/**
 * Sets the guest's clock from its own hardware clock (`virsh domtime --sync`, agent
 * `guest-set-time` without a time, as libvirt sends it).
 *
 * @throws {VirtError} As {@linkcode guestTime}.
 */
export async function syncGuestTime(
  inspection: DomainInspection,
  signal: AbortSignal,
): Promise<void> {
  await agentQuery(inspection, "guest-set-time", signal);
}

/**
 * The guest's host name as its agent tells it (`virsh domhostname`, agent
 * `guest-get-host-name`).
 *
 * @throws {VirtError} As {@linkcode guestTime}.
 */
export async function guestHostname(
  inspection: DomainInspection,
  signal: AbortSignal,
): Promise<string> {
  const value = await agentQuery(inspection, "guest-get-host-name", signal) as {
    "host-name"?: unknown;
  } | null;
  const name = value?.["host-name"];
  if (typeof name !== "string") {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "malformed return value of 'guest-get-host-name'",
    );
  }
  return name;
}
