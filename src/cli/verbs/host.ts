/**
 * `host list`: the hosts sharing the service's NATS log (`EVIRT_LOG=nats://…`), each with its
 * state (alive while its heartbeat arrives, lost once it stopped for longer than the TTL), its
 * drivers, capacity and last heartbeat. `host domains`: every domain of the fleet with the host
 * that owns it (its lease), any host reaching it through the one asked.
 *
 * The host's guests as libvirt-guests handles them (`actors/host_guests.ts`): `host
 * shutdown-guests [--on-shutdown suspend|shutdown]` is `libvirt-guests.sh stop` (the systemd
 * unit's `ExecStop` when installed with `on_shutdown`), `host start-guests` its `start`, and
 * `host guests` its `status`: the listed guests. The first two print libvirt-guests' lines as
 * the service's pass writes them and exit with its status (1 when a guest failed, or a
 * parallel shutdown timed out).
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { formatTable } from "../layouts.ts";
import type { Verb, VerbContext, VerbOutcome } from "../verb.ts";
import type { GuestsView } from "../../api/views.ts";

/** The actions of `evirt host`. */
const ACTIONS = ["list", "domains", "shutdown-guests", "start-guests", "guests"] as const;

/** Each wait for the pass's next line, in seconds (the route's bound is 60). */
const FOLLOW_WAIT_SECONDS = 30;
/** Longest a pass is followed, in ms: a day (each guest's step is bounded by the service). */
const FOLLOW_MAX_MS = 24 * 60 * 60 * 1000;

/**
 * Prints the pass's lines as they come until it ends; exit code 1 when it failed, as
 * libvirt-guests' status.
 */
async function followPass(context: VerbContext, first: GuestsView): Promise<VerbOutcome> {
  let view = first;
  let printed = 0;
  const deadline = Date.now() + FOLLOW_MAX_MS;
  for (;;) {
    const pass = view.pass;
    if (pass === null) return {};
    for (const line of pass.lines.slice(Math.max(0, printed - pass.firstLine))) {
      context.print(`${line}\n`);
    }
    printed = pass.lineCount;
    if (!pass.running) return pass.failed ? { exitCode: 1 } : {};
    if (Date.now() > deadline) {
      context.warn(`still running after ${FOLLOW_MAX_MS / 1000} s: see 'evirt host guests'`);
      return { exitCode: 1 };
    }
    view = await context.client.guests({ after: printed, waitSeconds: FOLLOW_WAIT_SECONDS });
  }
}

/** `host guests`: the listed guests, then the last pass's lines. */
function printGuests(context: VerbContext, view: GuestsView): void {
  context.print(formatTable(
    ["Name", "UUID", "Listed by", "State"],
    view.listed.map((guest) => [
      guest.name,
      guest.uuid,
      guest.action,
      guest.active ? "active" : guest.managedSave ? "managed save" : "shut off",
    ]),
  ));
  const pass = view.pass;
  if (pass === null) return;
  context.print(
    `Last ${pass.kind} (${pass.action}), ${
      pass.running ? "running" : pass.failed ? "failed" : "done"
    }:\n`,
  );
  for (const line of pass.lines) context.print(`${line}\n`);
}

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
 * evirt host shutdown-guests --on-shutdown suspend
 * ```
 */
export const hostVerb: Verb = {
  name: "host",
  summary:
    "list the hosts sharing this service's NATS log, or their domains; stop and start the host's guests as libvirt-guests",
  json: true,
  options: [
    {
      name: "action",
      kind: "string",
      positional: true,
      required: true,
      help: "list (the hosts), domains (each domain with its host), shutdown-guests, " +
        "start-guests or guests (libvirt-guests' stop, start and status)",
    },
    {
      name: "on-shutdown",
      kind: "string",
      help: "shutdown-guests: suspend or shutdown instead of the service's on_shutdown",
    },
  ],
  async run(context: VerbContext, args: VerbArguments): Promise<VerbOutcome | void> {
    const action = args.text("action")!;
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new ArgumentError(
        `unknown host action '${action}': expected ${ACTIONS.join(", ")}`,
        "action",
      );
    }
    if (action === "shutdown-guests") {
      const onShutdown = args.text("on-shutdown");
      if (onShutdown !== undefined && onShutdown !== "suspend" && onShutdown !== "shutdown") {
        throw new ArgumentError(
          `unknown on-shutdown '${onShutdown}': expected suspend or shutdown`,
          "on-shutdown",
        );
      }
      return await followPass(context, await context.client.stopGuests(onShutdown));
    }
    if (action === "start-guests") {
      return await followPass(context, await context.client.startGuests());
    }
    if (action === "guests") {
      const view = await context.client.guests();
      if (args.flag("json")) context.json(view);
      else printGuests(context, view);
      return;
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
