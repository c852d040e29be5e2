/**
 * `start`: starts a defined domain, optionally with its CPUs paused.
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `start` verb.
 *
 * @example
 * ```sh
 * evirt start web --paused   # Domain 'web' started
 * ```
 */
export const startVerb = domainActionVerb({
  name: "start",
  action: "start",
  summary: "start a (previously defined) inactive domain",
  options: [
    { name: "paused", kind: "bool", help: "leave the guest paused after start" },
    {
      name: "bypass-cache",
      kind: "bool",
      help: "avoid file system cache when loading",
    },
    { name: "force-boot", kind: "bool", help: "force fresh boot by discarding any managed save" },
  ],
  actionOptions: (args) => ({
    paused: args.flag("paused"),
    forceBoot: args.flag("force-boot"),
    bypassCache: args.flag("bypass-cache"),
  }),
  progress: "starting domain",
  done: (name) => `Domain '${name}' started`,
  failed: (name) => `Failed to start domain '${name}'`,
  alreadyInState: "Domain is already active",
});
