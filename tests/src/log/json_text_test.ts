import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { EventStoreArgumentError } from "../../../src/log/errors.ts";
import { JSON_DEPTH_MAX } from "../../../src/log/event_store.ts";
import {
  encodeJson,
  encodeJsonText,
  prepareJsonText,
  rememberJsonText,
  utf8Length,
} from "../../../src/log/json_text.ts";

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

Deno.test("encodeJsonText() splices a remembered text in, once, as JSON.stringify would", () => {
  const definition = { name: "vé", devices: { disks: [{ target: "vda" }] }, none: null };
  const known = prepareJsonText(definition, "definition", 1024);
  assert.deepEqual(known, {
    text: JSON.stringify(definition),
    bytes: utf8Length(JSON.stringify(definition)),
    crc: crc32(JSON.stringify(definition)),
    depth: 3,
  });
  // A stale text shows that the remembered one was used; real callers never change the value.
  rememberJsonText(definition, { ...known, text: '{"marker":1}' });
  const body = { definition, detail: "added", n: [1, { x: 2 }] };
  assert.equal(
    encodeJsonText(body, "body", 1024),
    '{"definition":{"marker":1},"detail":"added","n":[1,{"x":2}]}',
  );
  // Used once: the next encoding walks the value again.
  assert.equal(encodeJsonText(body, "body", 1024), JSON.stringify(body));
  rememberJsonText(definition, known);
  assert.equal(encodeJsonText(definition, "definition", 1024), JSON.stringify(definition));
});

Deno.test("encodeJsonText() checks the other properties and the size beside a remembered text", () => {
  const definition = { name: "x".repeat(50) };
  rememberJsonText(definition, prepareJsonText(definition, "definition", 1024));
  assert.throws(
    () => encodeJsonText({ definition, bad: undefined }, "body", 1024),
    (error) => error instanceof EventStoreArgumentError && error.where === "body.bad",
  );
  rememberJsonText(definition, prepareJsonText(definition, "definition", 1024));
  assert.throws(
    () => encodeJsonText({ definition }, "body", 40),
    (error) =>
      error instanceof EventStoreArgumentError &&
      error.message ===
        `body is too large: ${
          JSON.stringify({ definition }).length
        } bytes of JSON, at most 40 allowed`,
  );
});

Deno.test("encodeJsonText() refuses a remembered value nesting too deep one level down", () => {
  let deep: unknown = {};
  for (let level = 1; level < JSON_DEPTH_MAX; level++) deep = { d: deep };
  const known = prepareJsonText(deep, "definition", 1 << 20);
  assert.equal(known.depth, JSON_DEPTH_MAX - 1);
  rememberJsonText(deep as object, known);
  assert.throws(
    () => encodeJsonText({ deep }, "body", 1 << 20),
    (error) => error instanceof EventStoreArgumentError && error.where === "body.deep",
  );
});

Deno.test("encodeJson() gives the CRC-32 and UTF-8 length of a body composed around a remembered text", () => {
  const definition = { name: "vé", devices: [{ target: "vda" }] };
  rememberJsonText(definition, prepareJsonText(definition, "definition", 1024));
  const body = { definition, detail: "added", note: "日本" };
  const encoded = encodeJson(body, "body", 1024);
  assert.equal(encoded.text, JSON.stringify(body));
  assert.deepEqual(encoded.known, { bytes: utf8Length(encoded.text), crc: crc32(encoded.text) });
  // Without a remembered text nothing is known beforehand.
  assert.equal(encodeJson(body, "body", 1024).known, undefined);
});
