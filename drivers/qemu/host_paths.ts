/**
 * Checks the host paths a command line names before QEMU starts (disk sources, kernel, initrd,
 * firmware, chardev files and sockets, device nodes), so a missing or wrong file gets a clear
 * error naming the element instead of a QEMU message about a mangled option.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { HostPathKind, HostPathRequirement } from "./argument_collector.ts";

const KIND_NAMES: Record<HostPathKind, string> = {
  file: "a regular file",
  block: "a block device",
  char: "a character device",
  socket: "a unix socket",
  creatable: "a path in an existing directory",
  directory: "a directory",
};

/**
 * Checks every requirement, in order; stops at the first failure.
 *
 * @param requirements The paths and the kind each must be.
 * @throws {VirtError} SYSTEM_ERROR (38) when a path (or, for `creatable`, its directory) does
 *   not exist or cannot be read; INVALID_ARG (8) when it is of the wrong kind. `where` names the
 *   element.
 *
 * @example
 * ```ts
 * import { checkHostPaths } from "./host_paths.ts";
 * try {
 *   checkHostPaths([{ path: "/nonexistent/disk.img", kind: "file", where: "/domain/devices/disk[1]/source/@file" }]);
 * } catch (error) {
 *   console.log((error as Error).message);
 *   // "cannot access '/nonexistent/disk.img' (/domain/devices/disk[1]/source/@file): No such file or directory"
 * }
 * ```
 */
export function checkHostPaths(requirements: readonly HostPathRequirement[]): void {
  for (const requirement of requirements) checkHostPath(requirement);
}

function checkHostPath({ path, kind, where }: HostPathRequirement): void {
  if (!path.startsWith("/")) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `path '${path}' (${where}) must be absolute`,
      { where },
    );
  }
  const target = kind === "creatable" ? path.slice(0, path.lastIndexOf("/")) || "/" : path;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(target);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "No such file or directory"
      : error instanceof Deno.errors.PermissionDenied
      ? "Permission denied"
      : (error as Error).message;
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot access '${target}' (${where}): ${reason}`, {
      where,
      cause: error,
    });
  }
  const fits = kind === "file"
    ? info.isFile
    : kind === "block"
    ? info.isBlockDevice === true
    : kind === "char"
    ? info.isCharDevice === true
    : kind === "socket"
    ? info.isSocket === true
    : info.isDirectory;
  if (!fits) {
    const what = kind === "creatable" ? "a directory" : KIND_NAMES[kind];
    throw new VirtError(ErrorCode.INVALID_ARG, `'${target}' (${where}) is not ${what}`, { where });
  }
}
