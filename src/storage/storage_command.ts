/**
 * Runs one storage tool (`mkfs`, `mount`, `umount`, `blkid`, LVM's `pvcreate`, `vgcreate`,
 * `lvcreate`, …) under a deadline and reports a failure as libvirt does: `Child process (ARGV)
 * unexpected exit status N: STDERR` (code 1).
 *
 * A bare program name is run from the first of /sbin, /bin, /usr/sbin, /usr/bin that has it,
 * which is where Debian's libvirt 9.0 was built to find them (`/sbin/lvcreate`, `/bin/mount`),
 * so its error messages name the same path.
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

/** Where a bare program name is looked up, in order. */
const PROGRAM_DIRS = ["/sbin", "/bin", "/usr/sbin", "/usr/bin"];

const programPaths = new Map<string, string>();

/** The absolute path `program` runs from (itself when it has a `/` or is found nowhere). */
export function programPath(program: string): string {
  if (program.includes("/")) return program;
  let path = programPaths.get(program);
  if (path === undefined) {
    path = program;
    for (const dir of PROGRAM_DIRS) {
      try {
        if (Deno.statSync(`${dir}/${program}`).isFile) {
          path = `${dir}/${program}`;
          break;
        }
      } catch {
        // Not in this directory.
      }
    }
    programPaths.set(program, path);
  }
  return path;
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
    output = await new Deno.Command(programPath(argv[0]), {
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
        [programPath(argv[0]), ...argv.slice(1)].join(" ")
      }) unexpected exit status ${output.code}: ${output.stderr}`,
    );
  }
  return output.stdout;
}
