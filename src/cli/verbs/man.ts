/**
 * `man`: prints the `evirt.1` man page (roff), generated from the same text as `evirt help`.
 *
 * @module
 */

import { VERSION } from "../../model/version.ts";
import { manPage } from "../man_page.ts";
import { loadAllVerbs } from "../verb_registry.ts";
import type { Verb } from "../verb.ts";

/**
 * The `man` verb.
 *
 * @example
 * ```sh
 * evirt man > evirt.1 && man -l evirt.1
 * ```
 */
export const manVerb: Verb = {
  name: "man",
  summary: "print the evirt(1) man page (roff; 'man -l' renders it)",
  offline: true,
  options: [],
  async run(context) {
    context.print(manPage(await loadAllVerbs(), VERSION));
  },
};
