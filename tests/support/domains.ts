/**
 * Domain definitions and helpers for tests of the actors and the host.
 *
 * @module
 */

import { type DomainDefinition, emptyDevices } from "../../src/model/domain.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { type DomainFact, libvirtEventOf } from "../../src/model/facts.ts";

let counter = 0;

/** A unique, valid uuid for a test domain. */
export function testUuid(): string {
  counter++;
  const hex = counter.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${hex}`;
}

/** A minimal definition of a domain on the test hypervisor. */
export function testDefinition(
  name: string,
  overrides: Partial<DomainDefinition> = {},
): DomainDefinition {
  return {
    type: "test",
    name,
    uuid: testUuid(),
    memoryKiB: 1048576,
    currentMemoryKiB: 524288,
    vcpus: 2,
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
    ...overrides,
  };
}

/** The libvirt events (`"Started Booted"`, `"reboot"`, …) of every fact in the log, in order. */
export async function loggedEvents(store: EventStore, afterPosition = 0): Promise<string[]> {
  const facts = await store.readAll({ afterPosition });
  const events: string[] = [];
  for (const fact of facts) {
    const event = libvirtEventOf({ type: fact.type, body: fact.body } as DomainFact);
    if (event === undefined) continue;
    events.push(
      event.lifecycle === undefined
        ? event.event
        : `${event.lifecycle.typeName} ${event.lifecycle.detailName}`,
    );
  }
  return events;
}
