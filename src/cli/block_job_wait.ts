/**
 * What `blockcommit`, `blockpull` and `blockcopy` share with `--wait`: polling the disk's job
 * (`blockjob --info`) until it is synchronized (a copy, an active commit) or gone (a commit or
 * pull that finished), with virsh's progress line on stderr under `--verbose`, and virsh's
 * `--bandwidth` argument.
 *
 * @module
 */

import { progressLine } from "../model/block_jobs.ts";
import { ArgumentError, type VerbArguments } from "./arguments.ts";
import type { OptionSpec } from "./arguments.ts";
import { domainCommand } from "./command_failure.ts";
import type { VerbContext } from "./verb.ts";

/** How often a waiting verb asks for its job, in ms (virsh: 500). */
export const BLOCK_JOB_POLL_MS = 500;

/** The longest wait without `--timeout`, in ms. */
export const BLOCK_JOB_WAIT_MAX_MS = 24 * 3600 * 1000;

/** How a wait ended. */
export type BlockJobWaitEnd = "ready" | "gone" | "timeout";

/** The disk a block job verb names (virsh's `<path>`). */
export const DISK_PATH_OPTION: OptionSpec = {
  name: "path",
  kind: "string",
  positional: true,
  required: true,
  help: "fully-qualified path of disk",
};

/** `--bandwidth`. */
export const BANDWIDTH_OPTION: OptionSpec = {
  name: "bandwidth",
  kind: "string",
  help: "bandwidth limit in MiB/s",
};

/** `--bytes`. */
export const BYTES_OPTION: OptionSpec = {
  name: "bytes",
  kind: "bool",
  help: "the bandwidth is in bytes rather than MiB/s",
};

/** `--keep-relative`. */
export const KEEP_RELATIVE_OPTION: OptionSpec = {
  name: "keep-relative",
  kind: "bool",
  help: "keep the backing chain relatively referenced",
};

/** The `--wait`, `--verbose`, `--timeout`, `--async` options, as virsh words them. */
export const WAIT_OPTIONS: readonly OptionSpec[] = [
  { name: "wait", kind: "bool", help: "wait for job to complete" },
  { name: "verbose", kind: "bool", help: "with --wait, display the progress" },
  {
    name: "timeout",
    kind: "integer",
    help: "implies --wait, abort if copy exceeds timeout (in seconds)",
  },
  { name: "async", kind: "bool", help: "with --wait, don't wait for cancel to finish" },
];

/** virsh's `--bandwidth` (MiB/s, or bytes/s with `--bytes`), as a decimal. */
export function bandwidthOption(args: VerbArguments): bigint | undefined {
  const text = args.text("bandwidth");
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,20}$/.test(text)) {
    throw new ArgumentError(
      `Scaled numeric value '${text}' for <--bandwidth> option is malformed or out of range`,
      "--bandwidth",
    );
  }
  return BigInt(text);
}

/**
 * Polls the disk's job until `until` (ready: synchronized; gone: ended), printing progress
 * under `verbose`.
 *
 * @returns How it ended; `timeout` after `timeoutMs` (the job is left running).
 */
export async function waitForBlockJob(
  context: VerbContext,
  reference: string,
  disk: string,
  options: {
    until: "ready" | "gone";
    verbose: boolean;
    timeoutMs: number | undefined;
    /** virsh's label of the wait: `Block commit`, `Block Pull`, `Block Copy`. */
    label: string;
  },
): Promise<BlockJobWaitEnd> {
  const deadline = Date.now() +
    Math.min(options.timeoutMs ?? BLOCK_JOB_WAIT_MAX_MS, BLOCK_JOB_WAIT_MAX_MS);
  const label = options.label;
  for (;;) {
    const info = await context.client.blockJobInfo(reference, disk, { bytes: true });
    if (!info.found) {
      if (options.verbose) context.io.stderr(`\r${progressLine(label, 0n, 1n)}`);
      return "gone";
    }
    if (options.verbose) {
      context.io.stderr(`\r${progressLine(label, info.end - info.cur, info.end)}`);
    }
    if (options.until === "ready" && info.end > 0n && info.cur === info.end) return "ready";
    if (Date.now() >= deadline) return "timeout";
    await new Promise((resolve) => setTimeout(resolve, BLOCK_JOB_POLL_MS));
  }
}

/** `--timeout` in ms (it implies `--wait`); undefined when absent. */
export function timeoutOption(args: VerbArguments): number | undefined {
  const seconds = args.integer("timeout");
  if (seconds === undefined) return undefined;
  if (seconds < 1) {
    throw new ArgumentError("invalid timeout", "--timeout");
  }
  return seconds * 1000;
}

/**
 * Ends a synchronized job after a wait, as virsh: `pivot` switches the disk to the job's result,
 * `finish` ends it keeping the disk as it was; then prints `message`.
 *
 * @throws The failure virsh reports: `failed to pivot job for disk …` / `failed to finish job …`.
 */
export async function endAfterWait(
  context: VerbContext,
  reference: string,
  disk: string,
  how: "pivot" | "finish",
  message: string,
): Promise<void> {
  await domainCommand(
    reference,
    `failed to ${how} job for disk ${disk}`,
    () => context.client.blockJobAbort(reference, disk, { pivot: how === "pivot" }),
  );
  context.printExtra(message);
}

/**
 * After a wait that outlasted `--timeout`: the job is aborted (waiting for its end unless
 * `--async`), as virsh does, and `message` printed.
 */
export async function abortAfterTimeout(
  context: VerbContext,
  reference: string,
  disk: string,
  async: boolean,
  message: string,
): Promise<void> {
  await context.client.blockJobAbort(reference, disk, { async });
  context.printExtra(message);
}
