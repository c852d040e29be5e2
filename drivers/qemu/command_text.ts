/**
 * A built QEMU command line as one line of shell text, the way libvirt prints it for
 * `virsh domxml-to-native qemu-argv`: the environment assignments, then the binary and its
 * arguments, each quoted for a POSIX shell only where it needs it (`src/host/command_text.ts`).
 *
 * @module
 */

import { commandText, shellQuote } from "../../src/host/command_text.ts";
import type { CommandLine } from "./command_line.ts";

/**
 * The command line as text, ending with a newline.
 *
 * @example
 * ```ts
 * import { commandLineText } from "./command_text.ts";
 * commandLineText({ emulator: "/usr/bin/qemu-system-x86_64", args: ["-name", "guest=vm"], env: { TZ: "UTC" } });
 * // "TZ=UTC /usr/bin/qemu-system-x86_64 -name guest=vm\n"
 * ```
 */
export function commandLineText(
  line: Pick<CommandLine, "emulator" | "args" | "env">,
): string {
  const assignments = Object.entries(line.env).map(([name, value]) =>
    `${name}=${shellQuote(value)} `
  );
  return `${assignments.join("")}${commandText([line.emulator, ...line.args])}\n`;
}
