/**
 * `blockjob`: a running disk's block job: its progress (`--info`, the default: virsh's
 * `Block Commit: [ 50 %]` line, or `--raw`), its end (`--abort`, `--pivot`, `--async`) or its
 * speed limit (`--bandwidth`).
 *
 * @module
 */

import { BLOCK_JOB_LABELS, progressLine } from "../../model/block_jobs.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { bandwidthOption, DISK_PATH_OPTION } from "../block_job_wait.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { prettyCapacity } from "../storage_layouts.ts";

/**
 * The `blockjob` verb.
 *
 * @example
 * ```sh
 * evirt blockjob web vda --info   # Block Copy: [ 42 %]
 * ```
 */
export const blockjobVerb: Verb = {
  name: "blockjob",
  summary: "Manage active block operations",
  json: true,
  options: [
    DOMAIN_OPTION,
    DISK_PATH_OPTION,
    { name: "abort", kind: "bool", help: "abort the active job on the specified disk" },
    { name: "async", kind: "bool", help: "implies --abort; request but don't wait for job end" },
    {
      name: "pivot",
      kind: "bool",
      help: "implies --abort; conclude and pivot a copy or commit job",
    },
    { name: "info", kind: "bool", help: "get active job information for the specified disk" },
    { name: "bytes", kind: "bool", help: "get/set bandwidth in bytes rather than MiB/s" },
    { name: "raw", kind: "bool", help: "implies --info; output details rather than human summary" },
    { name: "bandwidth", kind: "string", help: "set the bandwidth limit in MiB/s" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const path = args.required("path");
    const abort = args.flag("abort") || args.flag("async") || args.flag("pivot");
    const bandwidth = bandwidthOption(args);
    const info = args.flag("info") || args.flag("raw");
    if ([abort, info, bandwidth !== undefined].filter(Boolean).length > 1) {
      throw new ArgumentError(
        "conflict between --abort, --info, and --bandwidth modes",
        "--abort",
      );
    }
    if (abort) {
      await domainCommand(
        reference,
        undefined,
        () =>
          context.client.blockJobAbort(reference, path, {
            async: args.flag("async"),
            pivot: args.flag("pivot"),
          }),
      );
      return;
    }
    if (bandwidth !== undefined) {
      await domainCommand(
        reference,
        undefined,
        () =>
          context.client.blockJobSetSpeed(reference, path, bandwidth, {
            bytes: args.flag("bytes"),
          }),
      );
      return;
    }
    const raw = args.flag("raw");
    const job = await domainCommand(
      reference,
      undefined,
      () => context.client.blockJobInfo(reference, path, { bytes: !raw || args.flag("bytes") }),
    );
    if (args.flag("json")) {
      context.json({
        ...job,
        bandwidth: job.bandwidth.toString(),
        cur: job.cur.toString(),
        end: job.end.toString(),
      });
      return;
    }
    if (!job.found) {
      if (!raw) context.printExtra(`No current block job for ${path}`);
      return;
    }
    // virsh names the type by its label in both layouts.
    const label = BLOCK_JOB_LABELS[job.type] ?? BLOCK_JOB_LABELS[0];
    if (raw) {
      context.print(
        ` type=${label}\n bandwidth=${job.bandwidth}\n cur=${job.cur}\n end=${job.end}\n`,
      );
      return;
    }
    context.io.stderr(`\r${progressLine(label, job.end - job.cur, job.end)}`);
    const speed = job.bandwidth === 0n
      ? ""
      : `    Bandwidth limit: ${job.bandwidth} bytes/s (${
        prettyCapacity(Number(job.bandwidth), 3)
      }/s)`;
    context.print(`${speed}\n`);
  },
};
