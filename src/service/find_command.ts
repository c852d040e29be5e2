/**
 * Finding an executable on `PATH`, as a shell would.
 *
 * @module
 */

/**
 * The absolute path of `command` on `PATH`, or undefined when no directory has it executable.
 *
 * @example
 * ```ts
 * import { findCommand } from "./find_command.ts";
 * console.log(findCommand("sh") !== undefined); // true on any Unix
 * ```
 */
export function findCommand(
  command: string,
  path = Deno.env.get("PATH") ?? "",
): string | undefined {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${command}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
