/**
 * `blockresize`: resizes a running domain's disk (QMP `block_resize`). The size is a scaled
 * integer (a bare number is KiB); a size that is not a whole number of KiB travels in bytes, as
 * virsh sends it.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { scaledSize } from "../scaled_size.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `blockresize` verb.
 *
 * @example
 * ```sh
 * evirt blockresize web vda 20G   # Block device 'vda' is resized
 * ```
 */
export const blockresizeVerb: Verb = {
  name: "blockresize",
  summary: "Resize block device of domain.",
  options: [
    DOMAIN_OPTION,
    {
      name: "path",
      kind: "string",
      positional: true,
      required: true,
      help: "Fully-qualified path of block device",
    },
    {
      name: "size",
      kind: "string",
      positional: true,
      help: "New size of the block device, as scaled integer (default KiB)",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const path = args.required("path");
    const text = args.text("size");
    if (text === undefined) {
      throw new ArgumentError("command 'blockresize' requires --size option", "--size");
    }
    const bytes = scaledSize(text, "size", 1024n);
    // virsh prefers KiB, and sends bytes only for a size that is not a whole number of KiB.
    const whole = bytes % 1024n === 0n;
    await domainCommand(
      reference,
      `Failed to resize block device '${path}'`,
      () =>
        context.client.blockResize(reference, path, whole ? bytes / 1024n : bytes, {
          bytes: !whole,
        }),
    );
    context.print(`Block device '${path}' is resized\n`);
  },
};
