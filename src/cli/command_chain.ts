/**
 * virsh's command strings: `evirt -c test:///default "suspend test; domstate --reason test"`
 * runs several commands on one connection, as virsh does when it is given a single argument.
 * Words split at blanks; `'…'` keeps everything literally, `"…"` keeps blanks and `;`, a
 * backslash escapes the next character; `;` (or a newline) ends a command; empty commands are
 * skipped.
 *
 * @module
 */

import { ArgumentError } from "./arguments.ts";

/** Most commands one string may hold: a bound on work per invocation. */
export const CHAIN_COMMANDS_MAX = 1024;

/**
 * Splits a command string into commands, each a list of words.
 *
 * @param text The command string.
 * @returns The commands in order; empty when the string holds none.
 * @throws {ArgumentError} On an unterminated quote or escape, or more than
 * {@linkcode CHAIN_COMMANDS_MAX} commands.
 *
 * @example
 * ```ts
 * import { splitCommandString } from "./command_chain.ts";
 * console.log(splitCommandString("suspend test; domstate --reason 'test'"));
 * // [["suspend", "test"], ["domstate", "--reason", "test"]]
 * ```
 */
export function splitCommandString(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length === 0) return;
    if (commands.length >= CHAIN_COMMANDS_MAX) {
      throw new ArgumentError(`more than ${CHAIN_COMMANDS_MAX} commands in one string`, text);
    }
    commands.push(words);
    words = [];
  };
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === ";" || char === "\n") {
      endCommand();
    } else if (char === " " || char === "\t") {
      endWord();
    } else if (char === "\\") {
      if (index + 1 >= text.length) throw new ArgumentError("dangling \\", text);
      word = (word ?? "") + text[++index];
    } else if (char === "'" || char === '"') {
      const close = text.indexOf(char, index + 1);
      if (close === -1) throw new ArgumentError('missing "', text);
      word = (word ?? "") + text.slice(index + 1, close);
      index = close;
    } else {
      word = (word ?? "") + char;
    }
  }
  endCommand();
  return commands;
}

/**
 * Whether the words after the global options are one command string: virsh reads a single
 * argument as a string of commands (which may hold just one).
 *
 * @example
 * ```ts
 * import { isCommandString } from "./command_chain.ts";
 * console.log(isCommandString(["list; dominfo test"]), isCommandString(["list", "--all"]));
 * // true false
 * ```
 */
export function isCommandString(words: readonly string[]): boolean {
  return words.length === 1 && /[\s;'"\\]/.test(words[0]);
}
