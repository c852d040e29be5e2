/**
 * `console`: attaches the terminal to a running domain's serial console (escape with Ctrl-]).
 *
 * The console is a pty on the service's host, so this needs a local connection
 * (`evirt:///system`) and read-write access, as virsh's console needs both.
 *
 * @module
 */

import { attachConsole } from "../console_relay.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
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
    const path = await domainCommand(
      reference,
      "Failed to get console",
      () => context.client.consolePath(reference, device),
    );
    const stop = new AbortController();
    const removeInterrupt = context.io.onInterrupt(() => stop.abort());
    try {
      await attachConsole(path, { name: reference, signal: stop.signal });
    } finally {
      removeInterrupt();
    }
  },
};
