import assert from "node:assert/strict";
import { anchorsIn, insertPlaced, siblingKey } from "../../../src/xml/placement.ts";

const names = (list: ({ name: string } | string)[]) =>
  list.map((item) => typeof item === "string" ? item : item.name);

Deno.test("insertPlaced puts each element after the n-th sibling of its anchor's name", () => {
  const sequence = [{ name: "a" }, { name: "b" }, { name: "a" }];
  insertPlaced(sequence, [{ after: "a[2]", element: { name: "x" } }, {
    after: "x",
    element: { name: "y" },
  }]);
  assert.deepStrictEqual(names(sequence), ["a", "b", "a", "x", "y"]);
});

Deno.test("insertPlaced puts unanchored elements first and orphans last", () => {
  const sequence = [{ name: "a" }];
  insertPlaced(sequence, [{ element: { name: "first" } }, {
    after: "gone",
    element: { name: "orphan" },
  }]);
  assert.deepStrictEqual(names(sequence), ["first", "a", "orphan"]);
});

Deno.test("anchorsIn anchors placed elements to their preceding sibling", () => {
  const x = { name: "x" };
  const sequence = [x, { name: "a" }, { name: "a" }, { name: "y" }];
  const y = sequence[3];
  assert.deepStrictEqual(anchorsIn(sequence, new Set([x, y])), [{ element: x }, {
    after: "a[2]",
    element: y,
  }]);
});

Deno.test("siblingKey names later occurrences with a 1-based index", () => {
  assert.deepStrictEqual([siblingKey("disk", 1), siblingKey("disk", 3)], ["disk", "disk[3]"]);
});
