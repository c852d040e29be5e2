import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { hostJobStats } from "../../actors/domain_jobs.ts";
import type { DomainJobStats } from "../../actors/driver_protocol.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { testDefinition } from "../support/domains.ts";

const MIGRATED: DomainJobStats = {
  operation: "migration_in",
  status: "completed",
  timeElapsedMs: 1200,
  dataTotal: 100,
  dataProcessed: 100,
  dataRemaining: 0,
} as DomainJobStats;

Deno.test("a kept incoming migration answers --completed until the domain's next save supersedes it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-completed-" });
  const host = await Host.open({
    store: createMemoryStore(),
    drivers: [new TestDriver({ asLibvirtTestDriver: true })],
    log: () => {},
    managedSaveDir: dir,
  });
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    const { uuid } = host.lookup("vm");
    host.completedMigrations.record(uuid, MIGRATED);
    const kept = await hostJobStats(host, "vm", { completed: true, keepCompleted: true });
    assert.equal(kept?.operation, "migration_in");
    await host.command("managedsave", uuid, {});
    const after = await hostJobStats(host, "vm", { completed: true, keepCompleted: true });
    assert.notEqual(after?.operation, "migration_in");
  } finally {
    await host.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
