/**
 * `blockpull`: pulls the images of a running disk's chain into its top (all of them, or those
 * above `--base`); with `--wait`, waits for the pull to finish. virsh's messages.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import {
  abortAfterTimeout,
  BANDWIDTH_OPTION,
  bandwidthOption,
  BYTES_OPTION,
  DISK_PATH_OPTION,
  KEEP_RELATIVE_OPTION,
  timeoutOption,
  WAIT_OPTIONS,
  waitForBlockJob,
} from "../block_job_wait.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `blockpull` verb.
 *
 * @example
 * ```sh
 * evirt blockpull web vda --wait   # Pull complete
 * ```
 */
export const blockpullVerb: Verb = {
  name: "blockpull",
  summary: "Populate a disk from its backing image.",
  options: [
    DOMAIN_OPTION,
    DISK_PATH_OPTION,
    BANDWIDTH_OPTION,
    { name: "base", kind: "string", help: "path of backing file in chain for a partial pull" },
    ...WAIT_OPTIONS,
    KEEP_RELATIVE_OPTION,
    BYTES_OPTION,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const path = args.required("path");
    const timeoutMs = timeoutOption(args);
    const wait = args.flag("wait") || timeoutMs !== undefined;
    if (args.flag("verbose") && !wait) {
      throw new ArgumentError("--verbose requires at least one of --timeout, --wait", "--verbose");
    }
    const bandwidth = bandwidthOption(args);
    await domainCommand(reference, undefined, () =>
      context.client.blockPull(reference, path, {
        ...(args.text("base") === undefined ? {} : { base: args.text("base") }),
        ...(bandwidth === undefined ? {} : { bandwidth }),
        relative: args.flag("keep-relative"),
        bytes: args.flag("bytes"),
      }));
    if (!wait) {
      context.printExtra("Block Pull started\n");
      return;
    }
    const end = await waitForBlockJob(context, reference, path, {
      until: "gone",
      verbose: args.flag("verbose"),
      timeoutMs,
      label: "Block Pull",
    });
    if (end === "timeout") {
      await abortAfterTimeout(context, reference, path, args.flag("async"), "\nPull aborted\n");
      return;
    }
    context.printExtra("\nPull complete\n");
  },
};
