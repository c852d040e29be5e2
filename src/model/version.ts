/**
 * evirt's version, read from `deno.json` so there is one place to change it.
 *
 * @module
 */

import manifest from "../../deno.json" with { type: "json" };

/** The evirt version, e.g. `0.1.0`. */
export const VERSION: string = manifest.version;
