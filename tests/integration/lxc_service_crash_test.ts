/**
 * A SIGKILLed service leaves its containers running, and the restarted service finds them again:
 * two containers, the service killed, restarted on the same folders; both are running with the
 * same init pids and their figures flow. Every container is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { testIf } from "../support/environment.ts";
import { containerDefinition, containerSkipReason, killContainers } from "./_lxc_rig.ts";

const NAMES = ["ct-crash-a", "ct-crash-b"];

testIf(
  "containers survive a SIGKILL of the service and are re-adopted with the same pids",
  containerSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const records: RuntimeRecord[] = [];
    let service: ServiceProcess | undefined;
    try {
      service = await startServiceProcess(dirs);
      const pids: Record<string, number> = {};
      for (const name of NAMES) {
        await service.client.define({ definition: containerDefinition(name) });
        await service.client.action(name, "start");
        const info = await service.client.info(name);
        assert.equal(info.stateName, "running");
      }
      const runDir = `${dirs.runtimeDir}/lxc`;
      for (const uuidDir of Deno.readDirSync(runDir)) {
        const runtime = { runDir: `${runDir}/${uuidDir.name}` } as RuntimeRecord;
        const init = LxcDriver.initOf(runtime);
        assert.ok(init !== undefined);
        pids[uuidDir.name] = init.pid;
      }
      // The records the teardown needs, read from the service's own answers.
      for (const name of NAMES) {
        const { uuid } = (await service.client.definition(name)).definition;
        records.push(await recordOf(dirs.runtimeDir, uuid ?? ""));
      }
      const status = await service.stop("SIGKILL");
      assert.equal(status.signal, "SIGKILL");
      for (const [uuid, pid] of Object.entries(pids)) {
        assert.equal(
          LxcDriver.initOf({ runDir: `${runDir}/${uuid}` })?.pid,
          pid,
          "the container died with the service",
        );
      }
      service = await startServiceProcess(dirs);
      for (const name of NAMES) {
        const state = await service.client.state(name);
        assert.equal(`${state.stateName} (${state.reasonName})`, "running (booted)");
      }
      for (const [uuid, pid] of Object.entries(pids)) {
        assert.equal(LxcDriver.initOf({ runDir: `${runDir}/${uuid}` })?.pid, pid);
      }
      const stats = await service.client.domainStats({});
      for (const name of NAMES) {
        const record = stats.find((entry) => entry.name === name);
        assert.ok(record !== undefined, `no stats for ${name}`);
        const cpu = Number(record.stats.find((field) => field.key === "cpu.time")?.value);
        assert.ok(cpu > 0, `cpu.time of ${name}: ${JSON.stringify(record.stats)}`);
      }
      for (const name of NAMES) await service.client.action(name, "destroy");
    } finally {
      await service?.stop("SIGKILL");
      await killContainers(records);
      await removeServiceDirs(dirs);
    }
  },
);

/** The runtime record of a running container, as its runtime folder and cgroup name it. */
async function recordOf(runtimeDir: string, uuid: string): Promise<RuntimeRecord> {
  const driver = new LxcDriver({ runtimeDir });
  const planned = driver.plan({
    uuid,
    name: "",
    id: 0,
    definition: containerDefinition("unused"),
  });
  await driver.close();
  const supervisorPid = Number(Deno.readTextFileSync(`${planned.runDir}/supervisor.pid`).trim());
  return { ...planned, supervisorPid };
}
