/**
 * `domblkerror`: the disks of a running domain whose I/O failed, as virsh prints them
 * (`vda: no space`), or `No errors found`.
 *
 * @module
 */

import type { DiskErrorKind } from "../../storage/block_figures.ts";
import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** virsh's words for each error. */
const ERROR_WORDS: Readonly<Record<DiskErrorKind, string>> = {
  "unspecified": "unspecified error",
  "no-space": "no space",
};

/**
 * The `domblkerror` verb.
 *
 * @example
 * ```sh
 * evirt domblkerror web   # vda: no space
 * ```
 */
export const domblkerrorVerb: Verb = {
  name: "domblkerror",
  summary: "Show errors on block devices",
  json: true,
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(
      reference,
      undefined,
      () => context.client.diskErrors(reference),
    );
    if (args.flag("json")) {
      context.json(view);
      return;
    }
    if (view.errors.length === 0) {
      context.print("No errors found\n");
      return;
    }
    context.print(
      view.errors.map(({ target, error }) => `${target}: ${ERROR_WORDS[error]}\n`).join(""),
    );
  },
};
