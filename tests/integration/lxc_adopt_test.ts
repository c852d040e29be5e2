/**
 * Recovery of an interrupted start (`adopt`): a container the service launched but never
 * recorded is found again from its planned runtime folder and cgroup; a plan that spawned
 * nothing is cleaned up. Every container started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { cgroupOfRecord, cgroupPids } from "../../src/host/cgroups.ts";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { exists, testIf } from "../support/environment.ts";
import {
  containerDefinition,
  containerSkipReason,
  killContainers,
  mappedRootSkipReason,
} from "./_lxc_rig.ts";

const skip = containerSkipReason();

/** A container in a user namespace (`<idmap>`), mapping its root to host uid and gid 100000. */
function mappedDefinition(name: string) {
  const definition = containerDefinition(name);
  const ranges = [{ start: 0, target: 100_000, count: 65536 }];
  definition.idmap = { uids: ranges, gids: ranges };
  return definition;
}

for (
  const [label, definitionOf] of [
    ["", containerDefinition],
    [" (in a user namespace)", mappedDefinition],
  ] as const
) {
  testIf(
    `a container launched before a crash is adopted with its init${label}`,
    skip ?? (label === "" ? undefined : mappedRootSkipReason()),
    async () => {
      await adoptAfterCrash(definitionOf(`ct-adopt${label === "" ? "" : "-userns"}`));
    },
  );
}

async function adoptAfterCrash(definition: ReturnType<typeof containerDefinition>) {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-lxc-adopt-" });
  const records: RuntimeRecord[] = [];
  const request = { uuid: definition.uuid!, name: definition.name, id: 1, definition };
  try {
    const first = new LxcDriver({ runtimeDir: `${dir}/run` });
    const planned = first.plan(request);
    records.push(planned);
    const launched = await first.launch(request, AbortSignal.timeout(30_000));
    records.push(launched);
    await first.close(); // The service dies: the record of the launch was never written.
    const second = new LxcDriver({ runtimeDir: `${dir}/run` });
    const adopted = await second.adopt(request, planned, AbortSignal.timeout(30_000));
    assert.ok(adopted !== undefined);
    assert.equal(adopted.pid, launched.pid);
    assert.equal(adopted.supervisorPid, launched.supervisorPid);
    assert.ok(cgroupPids(cgroupOfRecord(adopted)).includes(launched.pid as number));
    if (definition.idmap !== undefined) {
      assert.equal(Deno.statSync(`/proc/${adopted.pid}`).uid, 100_000);
    }
    await second.close();
  } finally {
    await killContainers(records);
    Deno.removeSync(dir, { recursive: true });
  }
}

testIf(
  "a planned start that spawned nothing adopts nothing and leaves no folder",
  skip,
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-lxc-adopt-" });
    try {
      const driver = new LxcDriver({ runtimeDir: `${dir}/run` });
      const definition = containerDefinition("ct-none");
      const request = { uuid: definition.uuid!, name: "ct-none", id: 1, definition };
      const planned = driver.plan(request);
      Deno.mkdirSync(String(planned.runDir), { recursive: true });
      assert.equal(await driver.adopt(request, planned, AbortSignal.timeout(30_000)), undefined);
      assert.equal(exists(String(planned.runDir)), false);
      await driver.close();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
