/**
 * `setmem`: changes a domain's current memory, live through the balloon (`--live`, the default
 * being the running instance as virsh's), in the persistent definition (`--config`), or both.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { scaledSize } from "../scaled_size.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The KiB a `--size` gives (a bare number is KiB; rounded up to a whole KiB).
 *
 * @throws {VirtError} 82 above what libvirt's API accepts.
 */
export function sizeKiB(text: string): number {
  const kib = (scaledSize(text, "size", 1024n) + 1023n) / 1024n;
  if (kib > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.OVERFLOW, `input too large: ${kib}`, { where: "--size" });
  }
  return Number(kib);
}

/**
 * The `setmem` verb.
 *
 * @example
 * ```sh
 * evirt setmem web 1G --live
 * evirt setmem web 512M --config
 * ```
 */
export const setmemVerb: Verb = {
  name: "setmem",
  summary: "change memory allocation",
  options: [
    DOMAIN_OPTION,
    {
      name: "size",
      kind: "string",
      positional: true,
      required: true,
      help: "new memory size, as scaled integer (default KiB)",
    },
    ...SCOPE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    const kib = sizeKiB(args.required("size"));
    // virsh asks for the running instance when no scope is given.
    const flags = args.flag("current") || scope.live || scope.config ? scope : { live: true };
    await domainCommand(
      reference,
      undefined,
      () => context.client.setMemory(reference, kib, flags),
    );
  },
};
