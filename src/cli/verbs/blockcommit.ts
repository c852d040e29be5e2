/**
 * `blockcommit`: commits images of a running disk's chain into a lower image. Without `--wait`
 * it answers once the job runs; with it, it waits for a commit to finish, or for an active
 * commit to be synchronized and then pivots (`--pivot`), keeps the overlay (`--keep-overlay`)
 * or leaves it synchronized; virsh's messages.
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
  endAfterWait,
  KEEP_RELATIVE_OPTION,
  timeoutOption,
  WAIT_OPTIONS,
  waitForBlockJob,
} from "../block_job_wait.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `blockcommit` verb.
 *
 * @example
 * ```sh
 * evirt blockcommit web vda --active --pivot   # Successfully pivoted
 * ```
 */
export const blockcommitVerb: Verb = {
  name: "blockcommit",
  summary: "Start a block commit operation.",
  options: [
    DOMAIN_OPTION,
    DISK_PATH_OPTION,
    BANDWIDTH_OPTION,
    {
      name: "base",
      kind: "string",
      help: "path of base file to commit into (default bottom of chain)",
    },
    { name: "shallow", kind: "bool", help: "use backing file of top as base" },
    { name: "top", kind: "string", help: "path of top file to commit from (default top of chain)" },
    { name: "active", kind: "bool", help: "trigger two-stage active commit of top file" },
    { name: "delete", kind: "bool", help: "delete files that were successfully committed" },
    ...WAIT_OPTIONS,
    { name: "pivot", kind: "bool", help: "implies --active --wait, pivot when commit is synced" },
    {
      name: "keep-overlay",
      kind: "bool",
      help: "implies --active --wait, quit when commit is synced",
    },
    KEEP_RELATIVE_OPTION,
    BYTES_OPTION,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const path = args.required("path");
    const pivot = args.flag("pivot");
    const keepOverlay = args.flag("keep-overlay");
    if (pivot && keepOverlay) {
      throw new ArgumentError(
        "Options --pivot and --keep-overlay are mutually exclusive",
        "--pivot",
      );
    }
    const timeoutMs = timeoutOption(args);
    const active = args.flag("active") || pivot || keepOverlay;
    const wait = args.flag("wait") || pivot || keepOverlay || timeoutMs !== undefined;
    if (args.flag("verbose") && !wait) {
      throw new ArgumentError(
        "--verbose requires at least one of --timeout, --wait, --pivot, or --keep-overlay",
        "--verbose",
      );
    }
    const bandwidth = bandwidthOption(args);
    await domainCommand(reference, undefined, () =>
      context.client.blockCommit(reference, path, {
        ...(args.text("base") === undefined ? {} : { base: args.text("base") }),
        ...(args.text("top") === undefined ? {} : { top: args.text("top") }),
        ...(bandwidth === undefined ? {} : { bandwidth }),
        shallow: args.flag("shallow"),
        delete: args.flag("delete"),
        active,
        relative: args.flag("keep-relative"),
        bytes: args.flag("bytes"),
      }));
    if (!wait) {
      context.printExtra(active ? "Active Block Commit started\n" : "Block Commit started\n");
      return;
    }
    const end = await waitForBlockJob(context, reference, path, {
      until: active ? "ready" : "gone",
      verbose: args.flag("verbose"),
      timeoutMs,
      label: "Block commit",
    });
    if (end === "timeout") {
      await abortAfterTimeout(context, reference, path, args.flag("async"), "\nCommit aborted\n");
      return;
    }
    if (!active) {
      context.printExtra("\nCommit complete\n");
    } else if (pivot) {
      await endAfterWait(context, reference, path, "pivot", "\nSuccessfully pivoted\n");
    } else if (keepOverlay) {
      await endAfterWait(
        context,
        reference,
        path,
        "finish",
        "\nCommit complete, overlay image kept\n",
      );
    } else {
      context.printExtra("\nNow in synchronized phase\n");
    }
  },
};
