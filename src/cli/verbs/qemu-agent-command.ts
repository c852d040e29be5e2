/**
 * `qemu-agent-command`: passes a raw command to the guest agent (the domain's
 * `org.qemu.guest_agent.0` channel) and prints its reply.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { formatReply } from "./qemu-monitor-command.ts";

/**
 * The `qemu-agent-command` verb.
 *
 * @example
 * ```sh
 * evirt qemu-agent-command web '{"execute":"guest-ping"}'
 * ```
 */
export const qemuAgentCommandVerb: Verb = {
  name: "qemu-agent-command",
  summary: "QEMU Guest Agent Command",
  options: [
    DOMAIN_OPTION,
    {
      name: "timeout",
      kind: "integer",
      help: "timeout seconds. must be positive.",
      min: 1,
      max: 300,
    },
    { name: "async", kind: "bool", help: "execute command without waiting for timeout" },
    { name: "block", kind: "bool", help: "execute command without timeout" },
    { name: "pretty", kind: "bool", help: "pretty-print the output" },
    { name: "cmd", kind: "string", rest: true, required: true, help: "command" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const given = ["timeout", "async", "block"].filter((name) => args.has(name));
    if (given.length > 1) {
      throw new ArgumentError(
        `Options --${given[0]} and --${given[1]} are mutually exclusive`,
        given[1],
      );
    }
    const timeout = args.flag("async")
      ? 0
      : args.flag("block")
      ? -1
      : args.integer("timeout") ?? -2;
    const command = args.list("cmd").join(" ");
    const reply = await domainCommand(
      reference,
      undefined,
      () => context.client.agentCommand(reference, command, timeout),
    );
    context.print(`${formatReply(reply, args.flag("pretty"), false)}\n`);
  },
};
