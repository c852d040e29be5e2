/**
 * `managedsave-remove`: removes a domain's managed save image, as `virsh managedsave-remove`.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `managedsave-remove` verb.
 *
 * @example
 * ```sh
 * evirt managedsave-remove web   # Removed managedsave image for domain 'web'
 * ```
 */
export const managedsaveRemoveVerb: Verb = {
  name: "managedsave-remove",
  summary: "Remove managed save of a domain",
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const images = new SaveClient(context.client);
    let has: boolean;
    try {
      has = await images.hasManagedSave(reference);
    } catch (error) {
      throw new CommandFailure("Failed to check for domain managed save image", error);
    }
    if (!has) {
      context.printExtra(`Domain '${reference}' has no manage save image; removal skipped\n`);
      return;
    }
    try {
      await images.managedSaveRemove(reference);
    } catch (error) {
      throw new CommandFailure(
        `Failed to remove managed save image for domain '${reference}'`,
        error,
      );
    }
    context.printExtra(`Removed managedsave image for domain '${reference}'\n`);
  },
};
