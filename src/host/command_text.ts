/**
 * A command line as text, as libvirt writes one (`virCommandToString`), for every driver that
 * prints one (bhyve-argv, qemu-argv): arguments quoted for
 * a POSIX shell where they hold a metacharacter, optionally one option a line (`\` line
 * breaks, an option's values staying on its line) and the program without its directory.
 *
 * @module
 */

/** Characters that make libvirt quote an argument. */
const SHELL_METACHARACTERS = /[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/;

/** One argument as a shell reads it back. */
export function shellQuote(argument: string): string {
  if (argument === "") return "''";
  if (!SHELL_METACHARACTERS.test(argument)) return argument;
  return `'${argument.replaceAll("'", "'\\''")}'`;
}

/** How {@linkcode commandText} lays a command out. */
export interface CommandTextOptions {
  /** Break lines before each option and each argument that follows no option. */
  linebreaks?: boolean;
  /** Write the program's base name only. */
  stripProgramPath?: boolean;
}

/**
 * The command `argv` (program first) as one text.
 *
 * @example
 * ```ts
 * import { commandText } from "./command_text.ts";
 * console.log(commandText(["/usr/sbin/bhyve", "-c", "1", "vm"], { linebreaks: true, stripProgramPath: true }));
 * // "bhyve \\\n-c 1 \\\nvm"
 * ```
 */
export function commandText(argv: readonly string[], options: CommandTextOptions = {}): string {
  const program = options.stripProgramPath ? argv[0].slice(argv[0].lastIndexOf("/") + 1) : argv[0];
  let text = shellQuote(program);
  let hadOption = false;
  for (let index = 1; index < argv.length; index++) {
    text += " ";
    if (options.linebreaks) {
      let linebreak = true;
      if (!argv[index].startsWith("-")) {
        // A value stays on the line of the option it belongs to.
        if (hadOption && argv.slice(index - 1).some((each) => each.startsWith("-"))) {
          linebreak = false;
        }
      } else {
        hadOption = true;
      }
      if (linebreak) text += "\\\n";
    }
    text += shellQuote(argv[index]);
  }
  return text;
}
