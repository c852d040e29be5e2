/**
 * A built QEMU command line as one line of shell text, the way libvirt prints it for
 * `virsh domxml-to-native qemu-argv`: the environment assignments, the binary, then the
 * arguments, each quoted for a POSIX shell only when it needs it.
 *
 * @module
 */

import type { CommandLine } from "./command_line.ts";

/** Characters a shell word may hold unquoted (libvirt's `virBufferEscapeShell` leaves these). */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word quoted for a POSIX shell when it needs to be.
 *
 * @example
 * ```ts
 * import { shellWord } from "./command_text.ts";
 * shellWord("-m"); // "-m"
 * shellWord("a b"); // "'a b'"
 * ```
 */
export function shellWord(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

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
  const words = [
    ...Object.entries(line.env).map(([name, value]) => `${name}=${shellWord(value)}`),
    shellWord(line.emulator),
    ...line.args.map(shellWord),
  ];
  return `${words.join(" ")}\n`;
}
