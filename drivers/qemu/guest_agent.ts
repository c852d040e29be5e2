/**
 * A client of the QEMU guest agent over the domain's `org.qemu.guest_agent.0` virtio channel
 * (a Unix socket QEMU listens on): one command per connection, after libvirt's
 * synchronisation (`0xFF` then `guest-sync-delimited` with a fresh id, stale replies skipped
 * until that id comes back), so a reply left over from an earlier, abandoned command is never
 * taken for this one's. Every wait is bounded by the caller's timeout.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { agentChannelIndex } from "../../src/model/guest_agent_channel.ts";
import { liveFactsOf } from "../../src/model/live_facts.ts";

export { GUEST_AGENT_CHANNEL } from "../../src/model/guest_agent_channel.ts";

/** Largest agent reply accepted, in bytes. */
export const AGENT_REPLY_MAX_BYTES = 16 * 1024 * 1024;

/** Longest synchronisation may take, in ms (the command's timeout when shorter). */
export const AGENT_SYNC_TIMEOUT_MS = 5_000;

/** Agent commands that answer nothing when they work (the guest goes away). */
const NO_REPLY_COMMANDS = new Set(["guest-shutdown", "guest-suspend-disk", "guest-suspend-ram"]);

let syncCounter = Date.now() % 1_000_000;

/**
 * The host path of a domain's agent socket, or undefined when it has no agent channel.
 *
 * @throws {VirtError} Code 74 for an agent channel that is not a Unix socket.
 */
export function agentSocketPath(
  definition: DomainDefinition,
  runtime: RuntimeRecord,
): string | undefined {
  const index = agentChannelIndex(definition);
  if (index === -1) return undefined;
  const channel = definition.devices.channels[index];
  if (channel.type !== "unix") {
    throw new VirtError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      `guest agent channel of type '${channel.type ?? "pty"}' is not supported (unix only)`,
    );
  }
  const path = channel.sources[0]?.path;
  if (path !== undefined) return path;
  // A socket without a path: the one the driver named at start, in the live facts.
  return liveFactsOf(runtime)?.chardevs?.find((chardev) =>
    chardev.list === "channels" && chardev.index === index
  )?.path;
}

function notResponding(detail: string): VirtError {
  return new VirtError(ErrorCode.AGENT_UNRESPONSIVE, detail);
}

/**
 * Runs one raw agent command and answers its reply as JSON text (`{"return": …}`, or the
 * agent's `{"error": …}` as libvirt passes it on).
 *
 * @param socketPath The agent channel's socket.
 * @param command The command, JSON text with `execute`.
 * @param timeoutMs Longest wait for the reply; 0 sends without waiting (answers `""`).
 * @throws {VirtError} Code 8 for a command that is not JSON with `execute`; 86 when the agent
 *   cannot be reached or does not answer in time.
 */
export async function runAgentCommand(
  socketPath: string,
  command: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string> {
  const execute = commandName(command);
  let connection: Deno.UnixConn;
  try {
    connection = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    throw notResponding(`QEMU guest agent is not connected (${(error as Error).message})`);
  }
  // One timer at a time: synchronisation's, then the command's. Either closes the socket.
  let timedOut = false;
  const onAbort = () => {
    try {
      connection.close();
    } catch { /* already closed */ }
  };
  let timer = setTimeout(() => {
    timedOut = true;
    onAbort();
  }, timeoutMs === 0 ? AGENT_SYNC_TIMEOUT_MS : Math.min(AGENT_SYNC_TIMEOUT_MS, timeoutMs));
  signal.addEventListener("abort", onAbort, { once: true });
  const lines = lineReader(connection);
  let sent = false;
  try {
    const id = ++syncCounter;
    await write(connection, new Uint8Array([0xff]));
    await write(
      connection,
      `${JSON.stringify({ execute: "guest-sync-delimited", arguments: { id } })}\n`,
    );
    for (;;) {
      const line = await lines.next();
      if (line === undefined) throw notResponding("QEMU guest agent closed the channel");
      const reply = parseReply(line);
      if (reply !== undefined && (reply as { return?: unknown }).return === id) break;
    }
    clearTimeout(timer);
    await write(connection, command.endsWith("\n") ? command : `${command}\n`);
    sent = true;
    if (timeoutMs === 0) return "";
    timer = setTimeout(() => {
      timedOut = true;
      onAbort();
    }, timeoutMs);
    for (;;) {
      const line = await lines.next();
      if (line === undefined) {
        // The guest went away after taking the command, as a shutdown does.
        if (NO_REPLY_COMMANDS.has(execute)) return "";
        throw notResponding("QEMU guest agent closed the channel");
      }
      const reply = parseReply(line);
      if (reply !== undefined) return JSON.stringify(reply);
    }
  } catch (error) {
    if (timedOut || signal.aborted) {
      // Only a command the agent took may go unanswered; one never synchronised never arrived.
      if (sent && NO_REPLY_COMMANDS.has(execute) && !signal.aborted) return "";
      throw notResponding("QEMU guest agent did not answer in time");
    }
    if (error instanceof VirtError) throw error;
    throw notResponding(`QEMU guest agent channel failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    onAbort();
  }
}

/** The `execute` of a raw command, refusing anything else with code 8. */
function commandName(command: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(command);
  } catch {
    throw new VirtError(ErrorCode.INVALID_ARG, `cannot parse json ${command}`, { where: "cmd" });
  }
  const execute = (parsed as { execute?: unknown } | null)?.execute;
  if (typeof execute !== "string" || execute === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "agent command needs an 'execute' member", {
      where: "cmd",
    });
  }
  return execute;
}

/** A JSON object line; undefined for anything else (the 0xFF echo, noise). */
function parseReply(line: string): Record<string, unknown> | undefined {
  const text = line.replace(/^\xff+/, "").trim();
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

async function write(connection: Deno.UnixConn, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let written = 0;
  while (written < bytes.length) written += await connection.write(bytes.subarray(written));
}

/** Reads lines (bounded by {@linkcode AGENT_REPLY_MAX_BYTES}); undefined at end of stream. */
function lineReader(connection: Deno.UnixConn): { next(): Promise<string | undefined> } {
  const decoder = new TextDecoder("latin1");
  let buffer = "";
  const chunk = new Uint8Array(64 * 1024);
  return {
    async next() {
      for (;;) {
        const newline = buffer.indexOf("\n");
        if (newline !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          return new TextDecoder().decode(
            Uint8Array.from(line, (char) => char.charCodeAt(0)),
          );
        }
        const count = await connection.read(chunk);
        if (count === null) return undefined;
        buffer += decoder.decode(chunk.subarray(0, count));
        if (buffer.length > AGENT_REPLY_MAX_BYTES) {
          throw notResponding(
            `QEMU guest agent reply is larger than ${AGENT_REPLY_MAX_BYTES} bytes`,
          );
        }
      }
    },
  };
}
