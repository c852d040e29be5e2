/**
 * Recovery of an interrupted start (`adopt`): a container the service launched but never
 * recorded is found again from its planned runtime folder and cgroup; a plan that spawned
 * nothing is cleaned up. Every container started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { cgroupOfRecord, cgroupPids } from "../../drivers/lxc/container_cgroup.ts";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { exists, testIf } from "../support/environment.ts";
import { containerDefinition, containerSkipReason, killContainers } from "./_lxc_rig.ts";

const skip = containerSkipReason();

testIf("a container launched before a crash is adopted with its init", skip, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-lxc-adopt-" });
  const records: RuntimeRecord[] = [];
  const request = {
    uuid: "",
    name: "ct-adopt",
    id: 1,
    definition: containerDefinition("ct-adopt"),
  };
  request.uuid = request.definition.uuid!;
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
    await second.close();
  } finally {
    await killContainers(records);
    Deno.removeSync(dir, { recursive: true });
  }
});

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
