import assert from "node:assert/strict";
import type { SnapshotView } from "../../../src/model/snapshot.ts";
import {
  compareSnapshotNames,
  formatCreationTime,
  formatSnapshotInfo,
  formatSnapshotTree,
  snapshotRequestXml,
} from "../../../src/cli/snapshot_layouts.ts";

function view(name: string, parent: string | null): SnapshotView {
  return {
    name,
    domain: "test",
    parent,
    current: false,
    state: "running",
    location: "internal",
    creationTimeSeconds: 0,
    children: 0,
    descendants: 0,
    metadata: true,
  };
}

Deno.test("the tree is drawn as virsh's vshTreePrint draws it", () => {
  const text = formatSnapshotTree([view("B", null), view("a", "B"), view("C", "a")]);
  assert.equal(text, "B\n  |\n  +- a\n      |\n      +- C\n        \n");
  const siblings = formatSnapshotTree([view("s1", null), view("s2", "s1"), view("s3", "s1")]);
  assert.equal(siblings, "s1\n  |\n  +- s2\n  +- s3\n    \n");
  assert.equal(formatSnapshotTree([]), "");
});

Deno.test("names sort as virsh sorts them, ignoring case", () => {
  assert.deepEqual(["C", "a", "B"].sort(compareSnapshotNames), ["a", "B", "C"]);
});

Deno.test("creation times are local time with the zone's offset", () => {
  assert.equal(formatCreationTime(0, 0), "1970-01-01 00:00:00 +0000");
  assert.equal(formatCreationTime(0, -90), "1969-12-31 22:30:00 -0130");
});

Deno.test("info lines are virsh's labels", () => {
  assert.match(formatSnapshotInfo(view("s", null)), /^Name: {11}s\n[^]*Parent: {9}-\n/);
});

Deno.test("snapshot-create-as builds virsh's document from --diskspec and --memspec", () => {
  assert.equal(
    snapshotRequestXml({
      name: "x",
      memspec: "file=/tmp/mem,snapshot=external",
      diskspecs: ["vda,snapshot=external,driver=qcow2,file=/tmp/a.qcow2", "hdb,snapshot=no"],
    }),
    "<domainsnapshot>\n  <name>x</name>\n  <memory snapshot='external' file='/tmp/mem'/>\n" +
      "  <disks>\n    <disk name='vda' snapshot='external'>\n      <driver type='qcow2'/>\n" +
      "      <source file='/tmp/a.qcow2'/>\n    </disk>\n    <disk name='hdb' snapshot='no'/>\n" +
      "  </disks>\n</domainsnapshot>\n",
  );
});
