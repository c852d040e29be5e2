/**
 * libvirt's QEMU program (`qemu_protocol.x`, program 0x20008087): the monitor pass-through
 * (`virDomainQemuMonitorCommand`, 1, and its `…WithFiles` form, 9, no file descriptors taken)
 * and the guest agent pass-through (`virDomainQemuAgentCommand`, 3). Calls of this program are
 * dispatched by their own procedure numbers, apart from the remote program's.
 *
 * @module
 */

import { agentCommand, monitorCommand } from "../../actors/guest_commands.ts";
import { checkFlags, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, nonnullString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** The QEMU program's number. */
export const QEMU_PROGRAM = 0x20008087;

/** The QEMU program's protocol version. */
export const QEMU_PROTOCOL_VERSION = 1;

/** `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`. */
const MONITOR_COMMAND_HMP = 1;

/** How long a monitor command may take over RPC, in ms. */
const MONITOR_COMMAND_TIMEOUT_MS = 30_000;

/** How long an agent command may take beyond its own timeout, in ms. */
const AGENT_COMMAND_SLACK_MS = 10_000;

const monitorArgs = x.struct(["dom", domainType], ["cmd", nonnullString], ["flags", x.uint]);
const monitorRet = x.struct(["result", nonnullString]);

async function runMonitorCommand(
  args: { dom: WireDomain; cmd: string; flags: number },
  host: Parameters<typeof lookupWire>[0],
  api: string,
): Promise<{ result: string }> {
  checkFlags(args.flags, MONITOR_COMMAND_HMP, api);
  const inspection = host.inspect(lookupWire(host, args.dom).uuid);
  const result = await monitorCommand(
    inspection,
    args.cmd,
    { hmp: (args.flags & MONITOR_COMMAND_HMP) !== 0 },
    AbortSignal.timeout(MONITOR_COMMAND_TIMEOUT_MS),
  );
  return { result };
}

/** The QEMU program's procedures, by libvirt API name. */
export const QEMU_PROCEDURES: ProcedureTable = {
  virDomainQemuMonitorCommand: {
    proc: 1,
    readOnly: false,
    args: monitorArgs,
    ret: monitorRet,
    handler: (args: { dom: WireDomain; cmd: string; flags: number }, context) =>
      runMonitorCommand(args, context.target().host, "virDomainQemuMonitorCommand"),
  },
  virDomainQemuAgentCommand: {
    proc: 3,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["cmd", nonnullString],
      ["timeout", x.int],
      ["flags", x.uint],
    ),
    ret: x.struct(["result", x.optional(nonnullString)]),
    handler: async (
      args: { dom: WireDomain; cmd: string; timeout: number; flags: number },
      context,
    ) => {
      checkFlags(args.flags, 0, "virDomainQemuAgentCommand");
      const { host } = context.target();
      const inspection = host.inspect(lookupWire(host, args.dom).uuid);
      const seconds = args.timeout > 0 ? args.timeout : 300;
      const result = await agentCommand(
        inspection,
        args.cmd,
        args.timeout,
        AbortSignal.timeout(seconds * 1000 + AGENT_COMMAND_SLACK_MS),
      );
      return { result: result === "" ? null : result };
    },
  },
  virDomainQemuMonitorCommandWithFiles: {
    proc: 9,
    readOnly: false,
    args: monitorArgs,
    ret: monitorRet,
    handler: (args: { dom: WireDomain; cmd: string; flags: number }, context) =>
      runMonitorCommand(args, context.target().host, "virDomainQemuMonitorCommandWithFiles"),
  },
};
