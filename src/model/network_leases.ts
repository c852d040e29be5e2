/**
 * DHCP leases of a virtual network, as dnsmasq reports them to its lease-change script: each
 * call is one event (`add`, `old`, `del`; `init` asks for the lease database and is no event),
 * written by evirt's script as one line that the service reads and records as facts.
 *
 * Line format (space-separated, `*` for absent): ACTION MAC IP EXPIRES HOSTNAME CLIENT-ID IAID,
 * where EXPIRES is dnsmasq's `DNSMASQ_LEASE_EXPIRES` (seconds since the epoch; 0: infinite).
 *
 * @module
 */

/** One lease-change event. */
export interface LeaseEvent {
  action: "add" | "old" | "del";
  mac: string;
  ip: string;
  /** When the lease expires, in seconds since the epoch; 0 for never. */
  expirySeconds: number;
  hostname?: string;
  /** The client id (IPv4) or DUID (IPv6). */
  clientId?: string;
  /** The IAID of an IPv6 lease. */
  iaid?: string;
}

/** A lease a network holds. */
export type NetworkLease = Omit<LeaseEvent, "action">;

/** Longest line read; a longer one is skipped as malformed. */
const LEASE_LINE_MAX_BYTES = 4096;

/** Most leases a network keeps (dnsmasq's own cap is the ranges' size, also bounded). */
export const NETWORK_LEASES_MAX = 65_536;

const ACTIONS = new Set(["add", "old", "del"]);

function optional(field: string | undefined): string | undefined {
  return field === undefined || field === "*" || field === "" ? undefined : field;
}

/**
 * The events in `text`, up to its last complete line; answers how many bytes were consumed
 * (the rest is a line still being written). Malformed lines are skipped.
 *
 * @example
 * ```ts
 * import { parseLeaseEvents } from "./network_leases.ts";
 * const { events } = parseLeaseEvents("add 52:54:00:00:00:01 10.0.0.5 1700000000 ga 01:52:54:00:00:00:01 *\n");
 * console.log(events[0].hostname); // "ga"
 * ```
 */
export function parseLeaseEvents(text: string): { events: LeaseEvent[]; consumedBytes: number } {
  const end = text.lastIndexOf("\n");
  if (end < 0) return { events: [], consumedBytes: 0 };
  const complete = text.slice(0, end + 1);
  const events: LeaseEvent[] = [];
  for (const line of complete.split("\n")) {
    if (line === "" || line.length > LEASE_LINE_MAX_BYTES) continue;
    const [action, mac, ip, expires, hostname, clientId, iaid] = line.split(" ");
    const expirySeconds = Number(expires);
    if (
      !ACTIONS.has(action) || mac === undefined || ip === undefined ||
      !Number.isSafeInteger(expirySeconds) || expirySeconds < 0
    ) {
      continue;
    }
    const event: LeaseEvent = {
      action: action as LeaseEvent["action"],
      mac: mac.toLowerCase(),
      ip,
      expirySeconds,
    };
    if (optional(hostname) !== undefined) event.hostname = hostname;
    if (optional(clientId) !== undefined) event.clientId = clientId;
    if (optional(iaid) !== undefined) event.iaid = iaid;
    events.push(event);
  }
  return { events, consumedBytes: new TextEncoder().encode(complete).length };
}

/**
 * The leases after `events`: `add` and `old` set the lease of the address, `del` removes it.
 *
 * @example
 * ```ts
 * import { applyLeaseEvents } from "./network_leases.ts";
 * const leases = applyLeaseEvents([], [{ action: "add", mac: "52:54:00:00:00:01", ip: "10.0.0.5", expirySeconds: 0 }]);
 * console.log(leases.length); // 1
 * ```
 */
export function applyLeaseEvents(
  leases: readonly NetworkLease[],
  events: readonly LeaseEvent[],
): NetworkLease[] {
  const byIp = new Map(leases.map((lease) => [lease.ip, lease]));
  for (const { action, ...lease } of events) {
    byIp.delete(lease.ip);
    if (action !== "del" && byIp.size < NETWORK_LEASES_MAX) byIp.set(lease.ip, lease);
  }
  return [...byIp.values()];
}

/**
 * The lease database a new dnsmasq of the network starts with (what its lease script answers
 * to `init`), in dnsmasq's lease file format: one line per lease that has not expired at
 * `nowSeconds`, `EXPIRES MAC IP HOSTNAME CLIENT-ID` (IPv6: the IAID in place of the MAC and
 * the DUID as client id), `*` for absent. So a dnsmasq that replaces another (a restart for
 * `net-update`, or after the old one died) knows the leases the log holds, as libvirt's lease
 * helper hands them over from its status file.
 *
 * @example
 * ```ts
 * import { leaseDatabase } from "./network_leases.ts";
 * const text = leaseDatabase([{ mac: "52:54:00:00:00:01", ip: "10.0.0.5", expirySeconds: 2000 }], 1000);
 * console.log(text); // "2000 52:54:00:00:00:01 10.0.0.5 * *\n"
 * ```
 */
export function leaseDatabase(leases: readonly NetworkLease[], nowSeconds: number): string {
  let text = "";
  for (const lease of leases) {
    if (lease.expirySeconds !== 0 && lease.expirySeconds <= nowSeconds) continue;
    const ipv6 = lease.ip.includes(":");
    const id = ipv6 ? lease.iaid : lease.mac;
    if (id === undefined) continue;
    text += `${lease.expirySeconds} ${id} ${lease.ip} ${lease.hostname ?? "*"} ${
      lease.clientId ?? "*"
    }\n`;
  }
  return text;
}

/**
 * dnsmasq's lease-change script: one line per event appended to the file named by
 * `EVIRT_LEASE_EVENTS` in dnsmasq's environment (a single `printf` of one short line, so
 * lines never interleave); `init` answers the lease database in the file named by
 * `EVIRT_LEASE_DATABASE` (written from the log's leases before dnsmasq starts, see
 * {@linkcode leaseDatabase}), or none.
 */
export const LEASE_SCRIPT = `#!/bin/sh
# dnsmasq's lease-change script for evirt: one line per lease event (see network_leases.ts).
if [ "$1" = init ]; then
  [ -n "$EVIRT_LEASE_DATABASE" ] && [ -f "$EVIRT_LEASE_DATABASE" ] && cat "$EVIRT_LEASE_DATABASE"
  exit 0
fi
case "$1" in add | old | del) ;; *) exit 0 ;; esac
mac=\${DNSMASQ_MAC:-$2}
printf '%s %s %s %s %s %s %s\\n' "$1" "$mac" "$3" "\${DNSMASQ_LEASE_EXPIRES:-0}" \\
  "\${4:-*}" "\${DNSMASQ_CLIENT_ID:-*}" "\${DNSMASQ_IAID:-*}" >>"$EVIRT_LEASE_EVENTS"
`;
