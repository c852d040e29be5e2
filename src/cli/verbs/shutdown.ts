/**
 * `shutdown`: asks the guest to shut down. It answers at once (the domain stops when the guest
 * has finished, which `event` or `domstate` show), or with `--wait[=SECONDS]` once the domain is
 * shut off (the API's `?wait=`); a guest still running then is code 68 (operation timeout).
 *
 * @module
 */

import { WAIT_MAX_SECONDS } from "../../model/operations.ts";
import { domainActionVerb } from "../domain_action.ts";

/** `--wait` given bare waits this long, in seconds. */
export const SHUTDOWN_WAIT_DEFAULT_SECONDS = 300;

/**
 * The `shutdown` verb.
 *
 * @example
 * ```sh
 * evirt shutdown web   # Domain 'web' is being shutdown
 * ```
 */
export const shutdownVerb = domainActionVerb({
  name: "shutdown",
  action: "shutdown",
  summary: "gracefully shutdown a domain",
  progress: "asking the guest to shut down",
  done: (name, args) =>
    args.has("wait") ? `Domain '${name}' is shut off` : `Domain '${name}' is being shutdown`,
  options: [
    { name: "mode", kind: "string", help: "shutdown mode: acpi|agent" },
    {
      name: "wait",
      kind: "integer",
      min: 1,
      max: WAIT_MAX_SECONDS,
      bareValue: SHUTDOWN_WAIT_DEFAULT_SECONDS,
      help:
        `wait until the domain is shut off, at most SECONDS (default ${SHUTDOWN_WAIT_DEFAULT_SECONDS}); ` +
        "code 68 if it is still running then",
    },
  ],
  actionOptions: (args) => {
    const mode = args.text("mode");
    const waitSeconds = args.integer("wait");
    return {
      ...(mode === undefined ? {} : { mode }),
      ...(waitSeconds === undefined ? {} : { waitSeconds }),
    };
  },
  failed: (name) => `Failed to shutdown domain '${name}'`,
});
