/**
 * Runs one storage tool (`mkfs`, `mount`, `umount`, `blkid`, LVM's `pvcreate`, `vgcreate`,
 * `lvcreate`, …) under a deadline and reports a failure as libvirt does: `Child process (ARGV)
 * unexpected exit status N: STDERR` (code 1).
 *
 * LVM waits for udev to make device nodes; where no udev runs (a container) it is told not to
 * (`DM_DISABLE_UDEV=1`), so its commands finish and make the nodes themselves.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** Longest one storage tool may run, in ms (mkfs of a large device is the slow one). */
export const STORAGE_COMMAND_TIMEOUT_MS = 300_000;

/** Largest output kept from a tool, in bytes. */
const OUTPUT_MAX_BYTES = 4 * 1024 * 1024;

/** What a finished tool printed. */
export interface StorageCommandOutput {
  /** Exit status. */
  code: number;
  /** Its standard output (bounded). */
  stdout: string;
  /** Its standard error (bounded). */
  stderr: string;
}

let udevRuns: boolean | undefined;

function environment(): Record<string, string> {
  if (udevRuns === undefined) {
    try {
      Deno.statSync("/run/udev/control");
      udevRuns = true;
    } catch {
      udevRuns = false;
    }
  }
  // LVM prints a warning per inherited descriptor; it is noise in every error message.
  const quiet = { LVM_SUPPRESS_FD_WARNINGS: "1" };
  return udevRuns ? quiet : { ...quiet, DM_DISABLE_UDEV: "1" };
}

/**
 * Runs `argv` and returns what it printed, whatever its exit status.
 *
 * @throws {VirtError} Code 68 past `timeoutMs`, 38 when the program cannot be run.
 */
export async function runStorageTool(
  argv: readonly string[],
  timeoutMs = STORAGE_COMMAND_TIMEOUT_MS,
): Promise<StorageCommandOutput> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: environment(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      throw new VirtError(ErrorCode.OPERATION_TIMEOUT, `${argv[0]} took over ${timeoutMs} ms`);
    }
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot run ${argv[0]}: ${String(error)}`, {
      cause: error,
    });
  }
  if (output.signal !== null) {
    throw new VirtError(ErrorCode.OPERATION_TIMEOUT, `${argv[0]} took over ${timeoutMs} ms`);
  }
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout.subarray(0, OUTPUT_MAX_BYTES)),
    stderr: decoder.decode(output.stderr.subarray(0, OUTPUT_MAX_BYTES)),
  };
}

/**
 * Runs `argv` and returns its standard output.
 *
 * @throws {VirtError} Code 1 `Child process (…) unexpected exit status N: …` when it fails;
 *   as {@linkcode runStorageTool}.
 */
export async function runStorageCommand(
  argv: readonly string[],
  timeoutMs = STORAGE_COMMAND_TIMEOUT_MS,
): Promise<string> {
  const output = await runStorageTool(argv, timeoutMs);
  if (output.code !== 0) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `Child process (${
        argv.join(" ")
      }) unexpected exit status ${output.code}: ${output.stderr.trim()}`,
    );
  }
  return output.stdout;
}
