import assert from "node:assert/strict";
import { noVolumeChanges, volumeChanges } from "../../../src/storage/volume_changes.ts";
import type { VolumeRecord } from "../../../src/model/storage_facts.ts";

function volume(name: string, extra: Partial<VolumeRecord> = {}): VolumeRecord {
  return {
    name,
    type: "file",
    path: `/p/${name}`,
    format: "raw",
    capacityBytes: 1,
    allocationBytes: 0,
    ...extra,
  };
}

Deno.test("volumeChanges finds nothing when the same records come in another key order", () => {
  const known = { a: volume("a", { physicalBytes: 1 }) };
  const reordered = { physicalBytes: 1, ...volume("a") };
  assert.ok(noVolumeChanges(volumeChanges(known, [reordered])));
});

Deno.test("volumeChanges lists the volumes that appeared or differ and the names gone", () => {
  const known = { a: volume("a"), b: volume("b"), c: volume("c") };
  const changes = volumeChanges(known, [
    volume("b", { allocationBytes: 4096 }),
    volume("c"),
    volume("d"),
  ]);
  assert.deepEqual(changes.changed.map((record) => record.name), ["b", "d"]);
  assert.deepEqual(changes.removed, ["a"]);
});

Deno.test("volumeChanges counts a field that appeared as a change", () => {
  const changes = volumeChanges({ a: volume("a") }, [volume("a", { backingPath: "/p/base" })]);
  assert.equal(changes.changed.length, 1);
});
