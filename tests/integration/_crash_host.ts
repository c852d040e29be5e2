/**
 * What crash tests on real QEMU share: a host on a QEMU driver over a given log, the state line
 * of a domain, and facts appended as the dead service would have appended them.
 *
 * @module
 */

import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { type DomainFact, domainStream } from "../../src/model/facts.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";

/** A host with a QEMU driver on `dir`'s `run` and `log` folders, over `store`. */
export async function openHost(dir: string, store: EventStore): Promise<Host> {
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    log: () => {},
  });
  return await Host.open({ store, drivers: [driver], log: () => {} });
}

/** `state (reason)` of the domain `name`, as virsh's `domstate --reason` words them. */
export function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}

/** Appends `facts` to the domain's stream as the dead service would have. */
export async function appendAsDeadService(
  store: EventStore,
  uuid: string,
  facts: DomainFact[],
): Promise<void> {
  const all = await store.readAll({ afterPosition: 0 });
  const version = all.filter((each) => each.stream === domainStream(uuid)).length;
  await store.append(
    domainStream(uuid),
    facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
    version,
  );
}
