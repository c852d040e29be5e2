import assert from "node:assert/strict";
import { REFUSED_WHILE_HELD } from "../../actors/held_facts_retry.ts";
import { DOMAIN_JOBS } from "../../actors/domain_dispatch.ts";
import { type Operation, OPERATIONS } from "../../src/model/operations.ts";

Deno.test("the commands refused while facts are held come from the operations table", () => {
  assert.deepEqual(
    [...REFUSED_WHILE_HELD].sort(),
    [
      "blockjob",
      "blockresize",
      "create",
      "device",
      "iftune",
      "managedsave",
      "perf",
      "reboot",
      "reset",
      "resume",
      "save",
      "schedinfo",
      "setmem",
      "setvcpus",
      "shutdown",
      "snapshot",
      "start",
      "suspend",
    ],
  );
  // Ending a guest and recording definitions stay possible.
  for (const allowed of ["destroy", "define", "undefine"]) {
    assert.ok(!REFUSED_WHILE_HELD.has(allowed), allowed);
  }
});

Deno.test("every row refused while facts are held names a command the host runs", () => {
  const jobs = new Set(Object.keys(DOMAIN_JOBS));
  for (const row of OPERATIONS as readonly Operation[]) {
    if (row.refusedWhileFactsHeld !== true) continue;
    // Snapshot rows are jobs of their domain's queue too.
    assert.ok(row.object === "domain" || row.object === "snapshot", row.name);
    const command = row.command ?? row.name.slice("domain.".length);
    // `create` runs through the host's claim of a new name, not a queued job.
    assert.ok(jobs.has(command) || command === "create", `${row.name}: ${command}`);
  }
});
