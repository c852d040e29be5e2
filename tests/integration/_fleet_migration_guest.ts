/**
 * The counting test guest of the live migration tests and what they check of it: its console's
 * numbers, its lifecycle events on each host, its QEMU processes, where it runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { eventually, withFleet } from "../support/fleet_services.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import type { ServiceProcess } from "../support/service_process.ts";
import { guestDefinition } from "./_qemu_guest.ts";
import { SaveClient } from "../../src/client/save_client.ts";
import { formatDomainXml } from "../../src/xml/mod.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";

/** The bandwidth that keeps a migration of the test guest in flight for many seconds, MiB/s. */
export const SLOW_MIB = 1;

/** Longest wait for the guest's counting to reach a number, in ms. */
const COUNT_TIMEOUT_MS = 60_000;

/** The numbers the guest printed so far, in order. */
export function counts(path: string): number[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  return [...text.matchAll(/^EVIRT-COUNT (\d+)\r?$/gm)].map((match) => Number(match[1]));
}

export async function countReaches(path: string, least: number): Promise<number> {
  await eventually(`the guest counts to ${least}`, () => {
    const seen = counts(path);
    return Promise.resolve(seen.length > 0 && seen[seen.length - 1] >= least);
  }, COUNT_TIMEOUT_MS);
  const seen = counts(path);
  return seen[seen.length - 1];
}

/** Collects `service`'s lifecycle events of `name` as `TYPE/detail` until `signal` ends. */
export function collectLifecycle(
  service: ServiceProcess,
  name: string,
  signal: AbortSignal,
): string[] {
  const seen: string[] = [];
  (async () => {
    try {
      for await (
        const message of service.client.events({ events: ["lifecycle"], signal, reconnect: false })
      ) {
        if (message.domain.name !== name || message.lifecycle === undefined) continue;
        seen.push(`${message.lifecycle.typeName}/${message.lifecycle.detailName}`);
      }
    } catch {
      // Ended by the signal.
    }
  })();
  return seen;
}

/** The pids of the QEMU processes running the domain `uuid` (found by their command line). */
export function qemuPids(uuid: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const line = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (line.includes("qemu-system") && line.includes(uuid)) pids.push(Number(entry.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** A counting test guest's definition, its serial console appended to `serial`. */
export function countingGuest(serial: string) {
  const definition = guestDefinition("mover", { serial: { file: serial } });
  definition.os.cmdline = `${definition.os.cmdline} evirt.count=1`;
  definition.devices.serials[0].sources[0].append = "on";
  return definition;
}

/** Waits until east's migration of mover is in flight (domjobinfo shows memory sent). */
export async function migrationInFlight(east: ServiceProcess): Promise<void> {
  await eventually("the migration is in flight", async () => {
    const view = await new SaveClient(east.client).jobInfo("mover");
    return view.type === 2 && (view.job?.memoryProcessed ?? 0) > 0;
  }, 30_000);
}

/** Waits until `service` does not list mover (moved away, or never given a copy). */
export async function withoutMover(service: ServiceProcess, what: string): Promise<void> {
  await eventually(what, async () => {
    const names = (await service.client.listDomains()).map((domain) => domain.name);
    return !names.includes("mover");
  });
}

/**
 * The guest runs on `here` (named `hostName`) only: it counts on there in order, never booted
 * again, `away` has no copy, one QEMU runs it, and its lease names `hostName`.
 */
export async function runsOnlyOn(
  here: ServiceProcess,
  away: ServiceProcess,
  hostName: string,
  serial: string,
  uuid: string,
): Promise<void> {
  assert.equal((await here.client.state("mover")).stateName, "running");
  const now = counts(serial).at(-1) ?? 0;
  await countReaches(serial, now + 5);
  await withoutMover(away, `only ${hostName} has mover`);
  await eventually("one QEMU runs mover", () => Promise.resolve(qemuPids(uuid).length === 1));
  const leases = (await away.client.fleetDomains()).domains;
  assert.ok(leases.some((lease) => lease.name === "mover" && lease.host === hostName));
  const seen = counts(serial);
  assert.equal(seen.filter((count) => count === 1).length, 1, `one boot: ${seen}`);
  for (let index = 1; index < seen.length; index++) {
    assert.ok(seen[index] > seen[index - 1], `counts in order: ${seen.join(" ")}`);
  }
}

/** The guest stayed on east: it runs and counts on there, west has no copy nor QEMU. */
export function stayedOnEast(
  east: ServiceProcess,
  west: ServiceProcess,
  serial: string,
  uuid: string,
): Promise<void> {
  return runsOnlyOn(east, west, "east", serial, uuid);
}

/**
 * Defines the counting guest on east and starts it, collecting both hosts' lifecycle events of
 * it until the fleet's test ends; once it counted to 10: the events seen so far and the last count.
 */
export async function startCounting(
  fleet: MoverFleet,
): Promise<{ eastEvents: string[]; westEvents: string[]; before: number }> {
  const [east, west] = fleet.services;
  await east.client.define({ xml: formatDomainXml(fleet.definition) });
  const eastEvents = collectLifecycle(east, "mover", fleet.signal);
  const westEvents = collectLifecycle(west, "mover", fleet.signal);
  await east.client.action("mover", "start");
  return { eastEvents, westEvents, before: await countReaches(fleet.serial, 10) };
}

/** What {@linkcode withMoverFleet} gives a test. */
export interface MoverFleet {
  /** The two hosts' services (`restart` may replace one: read them from here). */
  services: ServiceProcess[];
  /** Starts the service at `index` again on its folders. */
  restart: (index: number) => Promise<ServiceProcess>;
  /** The counting guest's definition (named mover). */
  definition: DomainDefinition;
  /** Its serial log. */
  serial: string;
  /** Ends with the test: stops what {@linkcode startCounting} collects. */
  signal: AbortSignal;
}

/**
 * Runs `body` on a fleet of east and west with the counting guest's definition, its serial log
 * in a folder of its own; afterwards stops the event collection, ends any QEMU of the guest
 * still running and removes the folder.
 */
export async function withMoverFleet(
  folderPrefix: string,
  body: (fleet: MoverFleet) => Promise<void>,
): Promise<void> {
  const dir = searchableTempDirSync(folderPrefix);
  const serial = `${dir}/serial.log`;
  const definition = countingGuest(serial);
  const stop = new AbortController();
  try {
    await withFleet(
      ["east", "west"],
      (services, restart) => body({ services, restart, definition, serial, signal: stop.signal }),
    );
  } finally {
    stop.abort();
    for (const pid of qemuPids(definition.uuid!)) Deno.kill(pid, "SIGKILL");
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Defines the counting guest on east and starts it; resolves once it counted to 5. */
export async function startMoverOnEast(fleet: MoverFleet): Promise<void> {
  const [east] = fleet.services;
  await east.client.define({ xml: formatDomainXml(fleet.definition) });
  await east.client.action("mover", "start");
  await countReaches(fleet.serial, 5);
}

/** Both hosts saw the lifecycle events of a migration that succeeded, as libvirt sends them. */
export async function sawMigratedEvents(eastEvents: string[], westEvents: string[]): Promise<void> {
  await eventually("both sides' events", () =>
    Promise.resolve(
      eastEvents.includes("Stopped/Migrated") && westEvents.includes("Resumed/Migrated"),
    ));
  assert.deepEqual(eastEvents.slice(0, 3), [
    "Started/Booted",
    "Suspended/Migrated",
    "Stopped/Migrated",
  ]);
  assert.deepEqual(
    westEvents.filter((event) => !event.startsWith("Defined/")),
    ["Started/Migrated", "Resumed/Migrated"],
  );
}
