import assert from "node:assert/strict";
import type { XmlContent, XmlElement } from "../../../src/model/xml_extra.ts";
import { anchorsIn, formattedOrder, mergePlaced, siblingKey } from "../../../src/xml/placement.ts";

const names = (list: XmlContent[]) =>
  list.map((item) => typeof item === "string" ? `"${item}"` : item.name);

Deno.test("mergePlaced puts each element after the n-th sibling of its anchor's name, chains included", () => {
  const merged = mergePlaced([{ name: "a" }, { name: "b" }, { name: "a" }], [
    { after: "a[2]", element: { name: "x" } },
    { after: "x", element: { name: "y" } },
  ]);
  assert.deepStrictEqual(names(merged), ["a", "b", "a", "x", "y"]);
});

Deno.test("mergePlaced puts unanchored elements first (after leading text) and orphans last", () => {
  const merged = mergePlaced(["t", { name: "a" }], [{ element: { name: "first" } }, {
    after: "gone",
    element: { name: "orphan" },
  }]);
  assert.deepStrictEqual(names(merged), ['"t"', "first", "a", "orphan"]);
});

Deno.test("mergePlaced is linear: 100,000 chained elements merge at once", () => {
  const placed = Array.from({ length: 100_000 }, (_, index) => ({
    after: index === 0 ? "a" : siblingKey("u", index),
    element: { name: "u" },
  }));
  assert.equal(mergePlaced([{ name: "a" }], placed).length, 100_001);
});

Deno.test("formattedOrder keeps each run of kept elements behind the typed element it followed", () => {
  const [a, u1, b, u2, lead] = ["a", "u1", "b", "u2", "lead"].map((name): XmlElement => ({ name }));
  const order = formattedOrder([lead, a, u1, b, u2], [b, a], new Set([lead, u1, u2]));
  assert.deepStrictEqual(names(order), ["lead", "b", "u2", "a", "u1"]);
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
