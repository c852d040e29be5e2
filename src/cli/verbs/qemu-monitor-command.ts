/**
 * `qemu-monitor-command`: passes a raw QMP command (or, with `--hmp`, a human monitor line) to
 * the domain's QEMU and prints the reply. The service marks the domain tainted (custom-monitor)
 * in its log, as libvirt does.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `qemu-monitor-command` verb.
 *
 * @example
 * ```sh
 * evirt qemu-monitor-command web --pretty '{"execute":"query-status"}'
 * evirt qemu-monitor-command web --hmp info status
 * ```
 */
export const qemuMonitorCommandVerb: Verb = {
  name: "qemu-monitor-command",
  summary: "QEMU Monitor Command",
  options: [
    DOMAIN_OPTION,
    { name: "hmp", kind: "bool", help: "command is in human monitor protocol" },
    { name: "pretty", kind: "bool", help: "pretty-print any qemu monitor protocol output" },
    {
      name: "return-value",
      kind: "bool",
      help: "extract the value of the 'return' key from the returned string",
    },
    { name: "cmd", kind: "string", rest: true, required: true, help: "command" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const hmp = args.flag("hmp");
    if (hmp && args.flag("pretty")) {
      throw new ArgumentError("Options --hmp and --pretty are mutually exclusive", "pretty");
    }
    if (hmp && args.flag("return-value")) {
      throw new ArgumentError(
        "Options --hmp and --return-value are mutually exclusive",
        "return-value",
      );
    }
    const command = args.list("cmd").join(" ");
    const reply = await domainCommand(
      reference,
      undefined,
      () => context.client.monitorCommand(reference, command, { hmp }),
    );
    context.print(`${formatReply(reply, args.flag("pretty"), args.flag("return-value"))}\n`);
  },
};

/** The reply as virsh prints it: as is, pretty (two-space JSON), or only its `return` value. */
export function formatReply(reply: string, pretty: boolean, returnValue: boolean): string {
  if (!pretty && !returnValue) return reply;
  let value: unknown;
  try {
    value = JSON.parse(reply);
  } catch {
    return reply;
  }
  if (returnValue) {
    const record = value as Record<string, unknown> | null;
    if (record === null || typeof record !== "object" || !("return" in record)) {
      throw new ArgumentError("'return' member missing", "return-value");
    }
    value = record.return;
    if (typeof value === "string" && !pretty) return value;
  }
  return pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
}
