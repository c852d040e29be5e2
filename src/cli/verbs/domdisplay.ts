/**
 * `domdisplay`: the URI of a running domain's graphical display (`vnc://127.0.0.1:0`), from its
 * live definition as virsh builds it from the live XML; `--include-password` asks for secrets.
 *
 * @module
 */

import type { DomainDefinition, Graphics } from "../../model/domain.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { DISPLAY_SCHEMES, displayUri } from "../display_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domdisplay` verb.
 *
 * @example
 * ```sh
 * evirt domdisplay guest --type vnc   # vnc://127.0.0.1:0
 * ```
 */
export const domdisplayVerb: Verb = {
  name: "domdisplay",
  summary: "domain display connection URI",
  options: [
    DOMAIN_OPTION,
    {
      name: "include-password",
      kind: "bool",
      help: "includes the password into the connection URI if available",
    },
    {
      name: "type",
      kind: "string",
      help: 'select particular graphical display (e.g. "vnc", "spice", "rdp", "dbus")',
    },
    { name: "all", kind: "bool", help: "show all possible graphical displays" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const all = args.flag("all");
    const type = args.text("type");
    if (all && type !== undefined) {
      throw new ArgumentError("Options --all and --type are mutually exclusive", "type");
    }
    const secure = args.flag("include-password");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    if (info.id === null) throw new CommandFailure("Domain is not running");
    const { definition } = await domainCommand(
      reference,
      undefined,
      () => context.client.definition(reference, { secure }),
    );
    // The secure XML is what shows passwords: without it, none is shown.
    const graphics = secure ? definition.devices.graphics : graphicsWithoutPasswords(definition);
    const uriServer = serverOf(context.uri);
    let found = false;
    for (const scheme of DISPLAY_SCHEMES) {
      if (!all && type !== undefined && type !== scheme) continue;
      const display = displayUri(graphics, scheme, uriServer);
      if (display === undefined) continue;
      if (typeof display !== "string") {
        context.io.stderr(`error: ${display.message}\n`);
        continue;
      }
      context.print(all ? `${display}\n` : display);
      found = true;
      if (!all) break;
    }
    if (!found) {
      throw new CommandFailure(
        type === undefined
          ? "No graphical display found"
          : `No graphical display with type '${type}' found`,
      );
    }
  },
};

function graphicsWithoutPasswords(definition: DomainDefinition): Graphics[] {
  return definition.devices.graphics.map(({ passwd: _secret, ...rest }) => rest);
}

/** The host part of the connection URI (virsh puts it in place of a wildcard address). */
function serverOf(uri: string): string | undefined {
  try {
    const host = new URL(uri).hostname;
    return host === "" ? undefined : host;
  } catch {
    return undefined;
  }
}
