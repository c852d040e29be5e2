/**
 * `save`: writes a running or paused domain's state to a file (libvirt's save-image layout) and
 * ends its instance, as `virsh save`.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { OptionSpec, VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { watchJob } from "../job_watch.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** The flags `save`, `restore` and `save-image-define` share with virsh. */
export const SAVE_FLAG_OPTIONS: readonly OptionSpec[] = [
  { name: "running", kind: "bool", help: "set domain to be running on restore" },
  { name: "paused", kind: "bool", help: "set domain to be paused on restore" },
];

/** virsh refuses `--running` with `--paused` before asking anyone. */
export function exclusiveRunningPaused(args: VerbArguments): void {
  if (args.flag("running") && args.flag("paused")) {
    throw new CommandFailure("Options --running and --paused are mutually exclusive");
  }
}

/**
 * The `save` verb.
 *
 * @example
 * ```sh
 * evirt save web /var/tmp/web.save   # Domain 'web' saved to /var/tmp/web.save
 * ```
 */
export const saveVerb: Verb = {
  name: "save",
  summary: "save a domain state to a file",
  options: [
    DOMAIN_OPTION,
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "where to save the data",
    },
    { name: "bypass-cache", kind: "bool", help: "avoid file system cache when saving" },
    ...SAVE_FLAG_OPTIONS,
    { name: "verbose", kind: "bool", help: "display the progress of save" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    exclusiveRunningPaused(args);
    const reference = args.required("domain");
    const file = args.required("file");
    try {
      await watchJob(
        context,
        reference,
        {
          label: "Save",
          verbose: args.flag("verbose"),
          quietLabel: `saving domain '${reference}'`,
        },
        new SaveClient(context.client).save(reference, file, {
          running: args.flag("running"),
          paused: args.flag("paused"),
          bypassCache: args.flag("bypass-cache"),
        }),
      );
    } catch (error) {
      throw new CommandFailure(`Failed to save domain '${reference}' to ${file}`, error);
    }
    context.printExtra(`\nDomain '${reference}' saved to ${file}\n`);
  },
};
