/**
 * `console`: attaches the terminal to a running domain's serial console (escape with Ctrl-]).
 *
 * The console is a pty on the service's host, so this needs a local connection
 * (`evirt:///system`) and read-write access, as virsh's console needs both. The console of a
 * domain another host of the fleet owns is on that machine: it is reached through the service's
 * console socket, which that host carries (its rules: one writer at a time).
 *
 * @module
 */

import { attachConsole, attachDevice } from "../console_relay.ts";
import { openConsoleSocket } from "../../client/console_socket.ts";
import type { EvirtClient } from "../../client/client.ts";
import { loadConfig } from "../../config/config.ts";
import { ErrorCode, isVirtError } from "../../model/errors.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand, domainFailure } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `console` verb.
 *
 * @example
 * ```sh
 * evirt console web            # Ctrl-] leaves
 * ```
 */
export const consoleVerb: Verb = {
  name: "console",
  summary: "connect to the guest console",
  options: [
    DOMAIN_OPTION,
    { name: "devname", kind: "string", help: "character device name (e.g. serial0)" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    if (!context.uri.startsWith("evirt:")) {
      throw new CommandFailure(
        `console needs the local service (evirt:///system): the pty is on its host, not reachable over ${context.uri}`,
      );
    }
    const device = args.text("devname");
    const path = await domainCommand(reference, "Failed to get console", async () => {
      try {
        return await context.client.consolePath(reference, device);
      } catch (error) {
        // Code 55 names another host's domain (or a state): the fleet tells which.
        if (!isVirtError(error) || error.code !== ErrorCode.OPERATION_INVALID) throw error;
        if (await ownerElsewhere(context.client, reference) === undefined) throw error;
        return undefined;
      }
    });
    const stop = new AbortController();
    const removeInterrupt = context.io.onInterrupt(() => stop.abort());
    try {
      if (path !== undefined) {
        await attachConsole(path, { name: reference, signal: stop.signal });
        return;
      }
      const { config } = loadConfig(context.io.env, { uid: context.io.uid });
      const query = device === undefined ? "" : `?device=${encodeURIComponent(device)}`;
      const socket = await domainCommand(
        reference,
        "Failed to get console",
        () =>
          openConsoleSocket(
            config.socketPath,
            `/v1/domains/${encodeURIComponent(reference)}/console/socket${query}`,
          ),
      );
      await attachDevice(socket, { name: reference, signal: stop.signal });
      const failure = socket.failure();
      if (failure !== undefined) throw domainFailure(reference, undefined, failure);
    } finally {
      removeInterrupt();
    }
  },
};

/** The host owning `reference` when it is another host of the fleet; undefined otherwise. */
async function ownerElsewhere(client: EvirtClient, reference: string): Promise<string | undefined> {
  const leases = await client.fleetDomains().catch(() => undefined);
  const lease = leases?.domains.find((domain) =>
    domain.name === reference || domain.uuid === reference.toLowerCase()
  );
  if (lease === undefined) return undefined;
  const own = await client.listDomains();
  return own.some((domain) => domain.uuid === lease.uuid) ? undefined : lease.host;
}
