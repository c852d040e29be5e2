/**
 * `managedsave`: saves a running or paused domain to the service's own image, which the next
 * `start` restores, as `virsh managedsave`.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { watchJob } from "../job_watch.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { exclusiveRunningPaused, SAVE_FLAG_OPTIONS } from "./save.ts";

/**
 * The `managedsave` verb.
 *
 * @example
 * ```sh
 * evirt managedsave web   # Domain 'web' state saved by libvirt
 * ```
 */
export const managedsaveVerb: Verb = {
  name: "managedsave",
  summary: "managed save of a domain state",
  options: [
    DOMAIN_OPTION,
    { name: "bypass-cache", kind: "bool", help: "avoid file system cache when saving" },
    { name: "verbose", kind: "bool", help: "display the progress of save" },
    ...SAVE_FLAG_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    exclusiveRunningPaused(args);
    const reference = args.required("domain");
    try {
      await watchJob(
        context,
        reference,
        {
          label: "Managedsave",
          verbose: args.flag("verbose"),
          quietLabel: `saving domain '${reference}'`,
        },
        new SaveClient(context.client).managedSave(reference, {
          running: args.flag("running"),
          paused: args.flag("paused"),
          bypassCache: args.flag("bypass-cache"),
        }),
      );
    } catch (error) {
      throw new CommandFailure(`Failed to save domain '${reference}' state`, error);
    }
    context.printExtra(`\nDomain '${reference}' state saved by libvirt\n`);
  },
};
