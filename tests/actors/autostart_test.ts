import assert from "node:assert/strict";
import { autostartAll } from "../../actors/autostart.ts";
import { testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

async function withAutostart(rig: ReturnType<typeof registryRig>, name: string) {
  const actor = await rig.define(testDefinition(name));
  await actor.run(
    "autostart",
    {},
    (job) => job.append([{ type: "domain.autostart_changed", body: { autostart: true } }]),
  );
  return actor;
}

Deno.test("autostartAll starts shut-off autostart domains only", async () => {
  const rig = registryRig();
  await withAutostart(rig, "auto");
  await rig.define(testDefinition("manual"));
  const running = await withAutostart(rig, "running");
  await rig.start(running.uuid);
  const started: string[] = [];
  const names = await autostartAll(rig.registry.actors(), (uuid) => {
    started.push(rig.registry.get(uuid)!.snapshot.context.name);
    return Promise.resolve();
  }, () => {});
  assert.deepEqual(started, ["auto"]);
  assert.deepEqual(names, ["auto"]);
});

Deno.test("autostartAll logs a failed start and goes on with the next domain", async () => {
  const rig = registryRig();
  await withAutostart(rig, "broken");
  await withAutostart(rig, "fine");
  const messages: string[] = [];
  const names = await autostartAll(rig.registry.actors(), (uuid) => {
    const name = rig.registry.get(uuid)!.snapshot.context.name;
    return name === "broken" ? Promise.reject(new Error("no disk")) : Promise.resolve();
  }, (message) => messages.push(message));
  assert.deepEqual(names, ["fine"]);
  assert.deepEqual(messages, [
    "domain broken: autostart failed: no disk",
    "domain fine: autostarted",
  ]);
});
