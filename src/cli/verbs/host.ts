/**
 * `host list`: the hosts sharing the service's NATS log (`EVIRT_LOG=nats://…`), each with its
 * state (alive while its heartbeat arrives, lost once it stopped for longer than the TTL), its
 * drivers, capacity and last heartbeat. `host domains`: every domain of the fleet with the host
 * that owns it (its lease), any host reaching it through the one asked.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { formatTable } from "../layouts.ts";
import type { Verb, VerbContext } from "../verb.ts";

/** The actions of `evirt host`. */
const ACTIONS = ["list", "domains"] as const;

/** A time as `YYYY-MM-DD HH:MM:SS` (UTC), or `-` for none. */
function formatTime(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().slice(0, 19).replace("T", " ") : "-";
}

/**
 * The `host` verb.
 *
 * @example
 * ```sh
 * evirt host list
 * evirt host list --json
 * evirt host domains
 * ```
 */
export const hostVerb: Verb = {
  name: "host",
  summary: "list the hosts sharing this service's NATS log, alive or lost, or their domains",
  json: true,
  options: [
    {
      name: "action",
      kind: "string",
      positional: true,
      required: true,
      help: "list (the hosts) or domains (each domain with its host)",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const action = args.text("action")!;
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new ArgumentError(
        `unknown host action '${action}': expected list or domains`,
        "action",
      );
    }
    if (action === "domains") {
      const { domains } = await context.client.fleetDomains();
      if (args.flag("json")) {
        context.json(domains);
        return;
      }
      context.print(formatTable(
        ["Name", "Host", "State", "UUID", "Since"],
        domains.map((domain) => [
          domain.name,
          domain.host,
          domain.pending ? "moving" : domain.active ? "active" : "inactive",
          domain.uuid,
          formatTime(domain.sinceMs),
        ]),
      ));
      return;
    }
    const { hosts } = await context.client.fleetHosts();
    if (args.flag("json")) {
      context.json(hosts);
      return;
    }
    context.print(formatTable(
      ["Name", "State", "Drivers", "CPUs", "Memory", "Last heartbeat", "Since"],
      hosts.map((host) => [
        host.name,
        host.state,
        host.drivers.join(","),
        String(host.cpus),
        `${host.memoryKiB} KiB`,
        formatTime(host.heartbeatAtMs),
        formatTime(host.state === "lost" ? host.lostAtMs ?? 0 : host.startedAtMs),
      ]),
    ));
  },
};
