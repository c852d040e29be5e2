import assert from "node:assert/strict";
import { EventStoreArgumentError } from "../../../src/log/errors.ts";
import { JSON_DEPTH_MAX } from "../../../src/log/event_store.ts";
import { encodeJsonText, utf8Length } from "../../../src/log/json_text.ts";

Deno.test("encodeJsonText() encodes plain JSON data", () => {
  assert.equal(encodeJsonText({ a: [1, "x", null, true] }, "body", 100), '{"a":[1,"x",null,true]}');
  assert.equal(
    encodeJsonText(Object.assign(Object.create(null), { k: 1 }), "body", 100),
    '{"k":1}',
  );
});

Deno.test("encodeJsonText() counts the limit in UTF-8 bytes", () => {
  assert.equal(encodeJsonText("éé", "body", 6), '"éé"');
  assert.throws(
    () => encodeJsonText("ééé", "body", 7),
    (error) =>
      error instanceof EventStoreArgumentError &&
      error.message === "body is too large: 8 bytes of JSON, at most 7 allowed",
  );
});

Deno.test("encodeJsonText() refuses values JSON would change, naming where", () => {
  const cases: [unknown, string][] = [
    [{ a: Infinity }, "body.a"],
    [[1, undefined], "body[1]"],
    [[1, , 3], "body[1]"], // A hole.
    [{ m: new Map() }, "body.m"],
    [{ b: 1n }, "body.b"],
    [{ s: Symbol("x") }, "body.s"],
  ];
  for (const [value, where] of cases) {
    assert.throws(
      () => encodeJsonText(value, "body", 1000),
      (error) => error instanceof EventStoreArgumentError && error.where === where,
      where,
    );
  }
});

Deno.test("encodeJsonText() refuses nesting deeper than JSON_DEPTH_MAX", () => {
  let deep: unknown = 1;
  for (let level = 0; level < JSON_DEPTH_MAX; level++) deep = [deep];
  encodeJsonText(deep, "body", 10_000);
  assert.throws(() => encodeJsonText([deep], "body", 10_000), /nests deeper than 64 levels/);
});

Deno.test("utf8Length() counts multi-byte characters", () => {
  assert.equal(utf8Length("abc"), 3);
  assert.equal(utf8Length("é日\u{1f600}"), 2 + 3 + 4);
});
