import assert from "node:assert/strict";
import {
  childrenOf,
  descendantsOf,
  EMPTY_SNAPSHOT_TREE,
  listSnapshots,
  type SnapshotTree,
  type StoredSnapshot,
  topologicalOrder,
  withCurrent,
  withoutSnapshots,
  withSnapshot,
} from "../../../src/model/snapshot_tree.ts";
import type { SnapshotState } from "../../../src/model/snapshot.ts";

function stored(name: string, parent?: string, state: SnapshotState = "running"): StoredSnapshot {
  return {
    definition: {
      name,
      ...(parent === undefined ? {} : { parent }),
      state,
      creationTimeSeconds: 1,
      disks: [{ name: "vda", type: "file", snapshot: "internal" }],
    },
  };
}

/** a → (b → d, c); e (root, shut off) */
function sample(): SnapshotTree {
  let tree = EMPTY_SNAPSHOT_TREE;
  tree = withSnapshot(tree, stored("a"), true);
  tree = withSnapshot(tree, stored("b", "a"), true);
  tree = withSnapshot(tree, stored("d", "b"), true);
  tree = withSnapshot(tree, stored("c", "a"), false);
  tree = withSnapshot(tree, stored("e", undefined, "shutoff"), false);
  return tree;
}

Deno.test("a created snapshot made current becomes the tree's current", () => {
  assert.equal(sample().current, "d");
  assert.equal(withCurrent(sample(), "c").current, "c");
});

Deno.test("children, descendants and the topological order follow the parents", () => {
  const tree = sample();
  assert.deepEqual(childrenOf(tree, undefined), ["a", "e"]);
  assert.deepEqual(childrenOf(tree, "a"), ["b", "c"]);
  assert.deepEqual(descendantsOf(tree, "a"), ["b", "d", "c"]);
  assert.deepEqual(topologicalOrder(tree), ["a", "b", "d", "c", "e"]);
});

Deno.test("deleting a snapshot hands its children to its parent and current upwards", () => {
  const tree = withoutSnapshots(sample(), ["b"]);
  assert.equal(tree.snapshots.d.definition.parent, "a");
  assert.equal(tree.current, "d");
  const gone = withoutSnapshots(sample(), ["b", "d"]);
  assert.equal(gone.current, "a");
  const root = withoutSnapshots(sample(), ["a"]);
  assert.equal(root.snapshots.b.definition.parent, undefined);
  assert.deepEqual(childrenOf(root, undefined), ["b", "c", "e"]);
});

Deno.test("list filters answer libvirt's groups (roots, leaves, state, metadata)", () => {
  const tree = sample();
  assert.deepEqual(listSnapshots(tree), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(listSnapshots(tree, { roots: true }), ["a", "e"]);
  assert.deepEqual(listSnapshots(tree, { leaves: true }), ["c", "d", "e"]);
  assert.deepEqual(listSnapshots(tree, { noLeaves: true }), ["a", "b"]);
  assert.deepEqual(listSnapshots(tree, { leaves: true, noLeaves: true }).length, 5);
  assert.deepEqual(listSnapshots(tree, { inactive: true }), ["e"]);
  assert.deepEqual(listSnapshots(tree, { active: true, inactive: true }).length, 5);
  assert.deepEqual(listSnapshots(tree, { noMetadata: true }), []);
  assert.deepEqual(listSnapshots(tree, { external: true }), []);
  assert.deepEqual(listSnapshots(tree, { of: "a" }), ["b", "c"]);
  assert.deepEqual(listSnapshots(tree, { of: "a", descendants: true }), ["b", "c", "d"]);
  assert.deepEqual(listSnapshots(tree, { of: "a", descendants: true, topological: true }), [
    "b",
    "d",
    "c",
  ]);
  assert.deepEqual(listSnapshots(tree, { topological: true }), ["a", "b", "d", "c", "e"]);
});
