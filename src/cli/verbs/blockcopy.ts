/**
 * `blockcopy`: copies a running disk to a new image (`--dest`); with `--wait`, waits until the
 * copy mirrors the disk, then pivots to it (`--pivot`), ends the copy keeping the disk as it was
 * (`--finish`), or leaves it mirroring. virsh's options and messages.
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
  endAfterWait,
  timeoutOption,
  WAIT_OPTIONS,
  waitForBlockJob,
} from "../block_job_wait.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `blockcopy` verb.
 *
 * @example
 * ```sh
 * evirt blockcopy web vda --dest /images/web-copy.qcow2 --transient-job --pivot
 * ```
 */
export const blockcopyVerb: Verb = {
  name: "blockcopy",
  summary: "Start a block copy operation.",
  options: [
    DOMAIN_OPTION,
    {
      name: "path",
      kind: "string",
      positional: true,
      required: true,
      help: "fully-qualified path of source disk",
    },
    { name: "dest", kind: "string", positional: true, help: "path of the copy to create" },
    BANDWIDTH_OPTION,
    { name: "shallow", kind: "bool", help: "make the copy share a backing chain" },
    { name: "reuse-external", kind: "bool", help: "reuse existing destination" },
    { name: "raw", kind: "bool", help: "use raw destination file" },
    {
      name: "blockdev",
      kind: "bool",
      help: "copy destination is block device instead of regular file",
    },
    ...WAIT_OPTIONS,
    { name: "pivot", kind: "bool", help: "implies --wait, pivot when mirroring starts" },
    { name: "finish", kind: "bool", help: "implies --wait, quit when mirroring starts" },
    { name: "format", kind: "string", help: "format of the destination file" },
    {
      name: "granularity",
      kind: "integer",
      help: "power-of-two granularity to use during the copy",
    },
    { name: "buf-size", kind: "string", help: "maximum amount of in-flight data during the copy" },
    BYTES_OPTION,
    {
      name: "transient-job",
      kind: "bool",
      help: "the copy job is not persisted if VM is turned off",
    },
    {
      name: "synchronous-writes",
      kind: "bool",
      help: "the copy job forces guest writes to be synchronously written to the destination",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const path = args.required("path");
    const dest = args.text("dest");
    if (dest === undefined) {
      throw new ArgumentError("need either --dest or --xml", "--dest");
    }
    const pivot = args.flag("pivot");
    const finish = args.flag("finish");
    if (pivot && finish) {
      throw new ArgumentError("Options --pivot and --finish are mutually exclusive", "--pivot");
    }
    if (args.flag("raw") && args.text("format") !== undefined) {
      throw new ArgumentError("Options --raw and --format are mutually exclusive", "--raw");
    }
    const timeoutMs = timeoutOption(args);
    const wait = args.flag("wait") || pivot || finish || timeoutMs !== undefined;
    if (args.flag("verbose") && !wait) {
      throw new ArgumentError(
        "--verbose requires at least one of --timeout, --wait, --pivot, or --finish",
        "--verbose",
      );
    }
    const bandwidth = bandwidthOption(args);
    const bufSize = args.text("buf-size");
    const format = args.flag("raw") ? "raw" : args.text("format");
    await domainCommand(
      reference,
      undefined,
      () =>
        context.client.blockCopy(reference, path, dest, {
          ...(format === undefined ? {} : { format }),
          blockdev: args.flag("blockdev"),
          ...(bandwidth === undefined ? {} : { bandwidth }),
          ...(args.integer("granularity") === undefined
            ? {}
            : { granularity: args.integer("granularity") }),
          ...(bufSize === undefined ? {} : { bufSize: BigInt(bufSize) }),
          shallow: args.flag("shallow"),
          reuseExternal: args.flag("reuse-external"),
          transientJob: args.flag("transient-job"),
          synchronousWrites: args.flag("synchronous-writes"),
          bytes: args.flag("bytes"),
        }),
    );
    if (!wait) {
      context.printExtra("Block Copy started\n");
      return;
    }
    const end = await waitForBlockJob(context, reference, path, {
      until: "ready",
      verbose: args.flag("verbose"),
      timeoutMs,
      label: "Block Copy",
    });
    if (end === "timeout") {
      await abortAfterTimeout(context, reference, path, args.flag("async"), "\nCopy aborted\n");
      return;
    }
    if (end === "gone") {
      context.printExtra("\nCopy failed\n");
    } else if (pivot) {
      await endAfterWait(context, reference, path, "pivot", "\nSuccessfully pivoted\n");
    } else if (finish) {
      await endAfterWait(context, reference, path, "finish", "\nSuccessfully copied\n");
    } else {
      context.printExtra("\nNow in mirroring phase\n");
    }
  },
};
