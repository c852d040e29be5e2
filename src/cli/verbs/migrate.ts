/**
 * `migrate`: moves a domain to another host of the fleet sharing the service's NATS log.
 * `--offline`: the definition and ownership of a shut-off domain move (libvirt's
 * `VIR_MIGRATE_OFFLINE` with `--persistent --undefinesource`: the destination defines it, the
 * source no longer has it). `--live`: a running QEMU guest moves, its state sent from QEMU to
 * QEMU over loopback TCP; its persistent definition goes with it (as `--persistent
 * --undefinesource`). The destination is a fleet host's name, or a URI whose host part is one
 * (`evirt://west/system`).
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { fleetHostOf } from "../../model/fleet_host_uri.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `migrate` verb.
 *
 * @example
 * ```sh
 * evirt migrate --offline web west
 * evirt migrate --offline web evirt://west/system
 * ```
 */
export const migrateVerb: Verb = {
  name: "migrate",
  summary: "migrate domain to another host of the fleet",
  json: true,
  options: [
    DOMAIN_OPTION,
    {
      name: "desturi",
      kind: "string",
      positional: true,
      required: true,
      help: "the fleet host to move it to: its name, or a URI naming it",
    },
    { name: "offline", kind: "bool", help: "move the definition of a shut-off domain only" },
    { name: "live", kind: "bool", help: "live migration of a running guest" },
    {
      name: "bandwidth",
      kind: "integer",
      help: "migration bandwidth limit in MiB/s (default: none)",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const host = hostOf(args.required("desturi"));
    if (args.flag("offline") === args.flag("live")) {
      throw new ArgumentError(
        "exactly one of --live (a running guest) and --offline (a shut-off domain) is needed",
        args.flag("offline") ? "--live" : "--offline",
      );
    }
    const bandwidth = args.integer("bandwidth");
    const moved = await domainCommand(
      reference,
      undefined,
      () =>
        args.flag("live")
          ? context.client.migrateLive(reference, host, {
            ...(bandwidth === undefined ? {} : { bandwidthMiB: bandwidth }),
          })
          : context.client.migrateOffline(reference, host),
    );
    if (args.flag("json")) context.json(moved);
    else context.print(`Domain '${moved.name}' moved to host '${moved.host}'\n`);
  },
};

/** The fleet host a destination names (`fleet_host_uri.ts`), as an argument error. */
function hostOf(destination: string): string {
  const host = fleetHostOf(destination);
  if (host === undefined) throw new ArgumentError(`'${destination}' names no host`, "desturi");
  return host;
}
