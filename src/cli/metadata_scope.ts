/**
 * virsh's `--live`, `--config`, `--current` options of `desc` and `metadata`, checked as virsh
 * checks them.
 *
 * @module
 */

import { ArgumentError, type OptionSpec, type VerbArguments } from "./arguments.ts";

/** The three scope options. */
export const SCOPE_OPTIONS: readonly OptionSpec[] = [
  { name: "live", kind: "bool", help: "modify/get running state" },
  { name: "config", kind: "bool", help: "modify/get persistent state" },
  { name: "current", kind: "bool", help: "modify/get current state" },
];

/**
 * The scope asked for: `live` and `config` as given; `--current` (or nothing) leaves both unset
 * so the service picks the current state.
 *
 * @throws {ArgumentError} When `--current` is combined with `--live` or `--config`.
 *
 * @example
 * ```ts ignore
 * const scope = metadataScope(args); // { live: true } for --live
 * ```
 */
export function metadataScope(args: VerbArguments): { live?: boolean; config?: boolean } {
  for (const other of ["live", "config"]) {
    if (args.flag("current") && args.flag(other)) {
      throw new ArgumentError(
        `Options --current and --${other} are mutually exclusive`,
        "--current",
      );
    }
  }
  return {
    ...(args.flag("live") ? { live: true } : {}),
    ...(args.flag("config") ? { config: true } : {}),
  };
}
