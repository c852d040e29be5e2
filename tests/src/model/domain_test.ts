import assert from "node:assert/strict";
import { DOMAIN_MODEL_VERSION, emptyDevices } from "../../../src/model/domain.ts";
import { DEVICES } from "../../../src/model/domain_schema.ts";

Deno.test("emptyDevices has an empty array for every always-present device list of the mapping", () => {
  const devices = emptyDevices() as unknown as Record<string, unknown>;
  const lists = DEVICES.children.filter((child) =>
    child.kind === "object" && child.many === true && child.optional !== true
  )
    .map((child) => (child as { field: string }).field);
  assert.deepStrictEqual(Object.keys(devices).sort(), lists.sort());
  for (const list of lists) assert.deepStrictEqual(devices[list], []);
  assert.notEqual(emptyDevices().disks, emptyDevices().disks);
});

Deno.test("DOMAIN_MODEL_VERSION is the first version of the JSON form", () => {
  assert.equal(DOMAIN_MODEL_VERSION, 1);
});
