/**
 * `setmaxmem`: changes a domain's maximum memory: of its persistent definition (a running
 * domain's live maximum cannot change, as with libvirt's QEMU and test drivers).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { sizeKiB } from "./setmem.ts";

/**
 * The `setmaxmem` verb.
 *
 * @example
 * ```sh
 * evirt setmaxmem web 4G --config
 * ```
 */
export const setmaxmemVerb: Verb = {
  name: "setmaxmem",
  summary: "change maximum memory limit",
  options: [
    DOMAIN_OPTION,
    {
      name: "size",
      kind: "string",
      positional: true,
      required: true,
      help: "new maximum memory size, as scaled integer (default KiB)",
    },
    ...SCOPE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    const kib = sizeKiB(args.required("size"));
    await domainCommand(
      reference,
      "Unable to change MaxMemorySize",
      () => context.client.setMaxMemory(reference, kib, scope),
    );
  },
};
