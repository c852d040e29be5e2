import assert from "node:assert/strict";
import { consolePathOf, domainInfoOf, inspectDomain } from "../../actors/domain_inspection.ts";
import type { DomainHandle, Driver } from "../../actors/driver_protocol.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

Deno.test("inspectDomain gives an inactive domain's persistent definition and no handle", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  const inspection = inspectDomain(actor.snapshot, () => rig.driver);
  assert.equal(inspection.handle, undefined);
  assert.equal(inspection.definition.name, "web");
  assert.equal(inspection.persistentDefinition?.name, "web");
  assert.equal(inspection.driver, rig.driver);
  assert.equal(inspectDomain(actor.snapshot, () => undefined).driver, undefined);
});

Deno.test("domainInfoOf reads live figures of a running domain, else the definition's", async () => {
  const rig = registryRig();
  const actor = await rig.define(
    testDefinition("web", { memoryKiB: 2048, currentMemoryKiB: 1024 }),
  );
  // A driver that names no figures of its own (libvirt's test driver's clock-based CPU time).
  const plain = Object.create(rig.driver, { describe: { value: undefined } }) as Driver;
  const off = domainInfoOf(inspectDomain(actor.snapshot, () => plain));
  assert.equal(off.memoryKiB, 1024);
  assert.equal(off.maxMemoryKiB, 2048);
  assert.equal(off.cpuTimeNs, 0);
  assert.equal(off.vcpus, 2);
  await rig.start(actor.uuid);
  const on = domainInfoOf(inspectDomain(actor.snapshot, () => rig.driver));
  assert.equal(on.active, true);
  assert.equal(on.id, 1);
  assert.equal(on.type, "test");
});

Deno.test("consolePathOf refuses an inactive domain (55) and a driver without a pty (9)", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  const ptyDriver = { consolePath: (handle: DomainHandle) => `/dev/pts/${handle.id}` } as Driver;
  assert.throws(
    () => consolePathOf(inspectDomain(actor.snapshot, () => ptyDriver), ptyDriver),
    (error) => isVirtError(error, 55),
  );
  await rig.start(actor.uuid);
  const inspection = inspectDomain(actor.snapshot, () => ptyDriver);
  assert.equal(consolePathOf(inspection, ptyDriver), "/dev/pts/1");
  const none = {} as Driver;
  assert.throws(
    () => consolePathOf(inspection, none, "serial1"),
    (error) =>
      isVirtError(error, 9) && /'serial1' of domain 'web' is not a pty/.test(error.message),
  );
});
