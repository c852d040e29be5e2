/**
 * `completion SHELL`: prints the bash or zsh completion script, generated from the verb table.
 *
 * @module
 */

import { ArgumentError } from "../arguments.ts";
import { bashCompletion, COMPLETION_SHELLS, zshCompletion } from "../completion.ts";
import { loadAllVerbs } from "../verb_registry.ts";
import type { Verb } from "../verb.ts";

/**
 * The `completion` verb.
 *
 * @example
 * ```sh
 * source <(evirt completion bash)
 * evirt completion zsh > ~/.zsh/functions/_evirt
 * ```
 */
export const completionVerb: Verb = {
  name: "completion",
  summary: "print the bash or zsh completion script",
  offline: true,
  options: [{
    name: "shell",
    kind: "string",
    positional: true,
    required: true,
    help: `the shell: ${COMPLETION_SHELLS.join("|")}`,
  }],
  async run(context, args) {
    const shell = args.required("shell");
    if (shell !== "bash" && shell !== "zsh") {
      throw new ArgumentError(
        `unknown shell '${shell}': expected ${COMPLETION_SHELLS.join(" or ")}`,
        "--shell",
      );
    }
    const verbs = await loadAllVerbs();
    context.print(shell === "bash" ? bashCompletion(verbs) : zshCompletion(verbs));
  },
};
