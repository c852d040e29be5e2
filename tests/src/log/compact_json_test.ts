import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import {
  compactJsonTransfer,
  prepareCompactJson,
  valueOfCompactJson,
} from "../../../src/log/compact_json.ts";
import { knownJsonText, prepareJsonText } from "../../../src/log/json_text.ts";
import { type JsonPieces, jsonTextChars, jsonTextString } from "../../../src/log/json_pieces.ts";
import { EventStoreArgumentError } from "../../../src/log/errors.ts";
import {
  type CompactParts,
  definitionFromStored,
  isCompactDefinition,
  isCompactPart,
  storedDefinition,
} from "../../../src/model/compact_definition.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { testDefinition } from "../../support/domains.ts";

/** A definition with a large description (non-ASCII) and device lists large and small. */
function large(): DomainDefinition {
  const definition = testDefinition("größer");
  return {
    ...definition,
    description: "ü€ ".repeat(40_000),
    devices: {
      ...definition.devices,
      emulator: "/usr/bin/qemu-system-x86_64",
      serials: Array.from({ length: 3000 }, (_, port) => ({ type: "null", target: { port } })),
      consoles: [{ type: "pty" }],
    },
  } as DomainDefinition;
}

Deno.test("prepareCompactJson makes the text, length, checksum and depth prepareJsonText makes", () => {
  for (const definition of [large(), testDefinition("small")]) {
    const whole = prepareJsonText(definition, "definition", 8 << 20);
    const made = prepareCompactJson(definition, "definition", 8 << 20);
    assert.equal(jsonTextString(made.json.text), whole.text);
    assert.equal(jsonTextString(made.json.text), JSON.stringify(definition));
    assert.equal(jsonTextChars(made.json.text), JSON.stringify(definition).length);
    assert.equal(made.json.bytes, whole.bytes);
    assert.equal(made.json.crc, crc32(new TextEncoder().encode(jsonTextString(whole.text))));
    assert.equal(made.json.depth, whole.depth);
  }
});

Deno.test("prepareCompactJson deflates the large parts only, and splits devices once", () => {
  assert.equal(prepareCompactJson(testDefinition("small"), "definition", 1 << 20).parts, undefined);
  const made = prepareCompactJson(large(), "definition", 8 << 20);
  const kept = new Map(made.parts!.map(([key, , deflated, nested]) => [key, { deflated, nested }]));
  assert.notEqual(kept.get("description")?.deflated, null);
  assert.equal(kept.get("name")?.deflated, null);
  const devices = new Map(kept.get("devices")!.nested!.map(([key, plain, deflated]) => [
    key,
    { plain, deflated },
  ]));
  assert.notEqual(devices.get("serials")?.deflated, null);
  assert.equal(devices.get("emulator")?.plain, "/usr/bin/qemu-system-x86_64");
  assert.deepEqual(devices.get("consoles")?.plain, [{ type: "pty" }]);
});

Deno.test("prepareCompactJson gives a compact definition's text in a buffer of its own and its deflated parts in shared memory", () => {
  const shared = (bytes: Uint8Array) => bytes.buffer instanceof SharedArrayBuffer;
  const made = prepareCompactJson(large(), "definition", 8 << 20);
  // The text is one piece of UTF-8 spanning its own buffer: it moves between threads.
  assert.equal(typeof made.json.text, "object");
  const { pieces } = made.json.text as JsonPieces;
  assert.equal(pieces.length, 1);
  const [piece] = pieces as Uint8Array[];
  assert.ok(!shared(piece));
  assert.equal(piece.byteLength, made.json.bytes);
  assert.deepEqual(compactJsonTransfer(made), [piece.buffer]);
  // The deflated parts, kept and sent again by the main loop, are shared.
  const deflated: Uint8Array[] = [];
  const walk = (parts: CompactParts) => {
    for (const [, , part, nested] of parts) {
      if (part !== null) deflated.push(part.bytes);
      if (nested !== undefined) walk(nested);
    }
  };
  walk(made.parts!);
  assert.ok(deflated.length >= 2);
  assert.ok(deflated.every(shared));
  // A definition parsed from its text on the main loop gets a string, and moves nothing.
  const small = prepareCompactJson(testDefinition("small"), "d", 1 << 20);
  assert.equal(typeof small.json.text, "string");
  assert.deepEqual(compactJsonTransfer(small), []);
});

Deno.test("prepareCompactJson refuses what prepareJsonText refuses, with the same error", () => {
  const tooLarge = large();
  const refusal = (make: () => unknown) => {
    try {
      make();
    } catch (error) {
      assert.ok(error instanceof EventStoreArgumentError, String(error));
      return error.message;
    }
    assert.fail("not refused");
  };
  assert.equal(
    refusal(() => prepareCompactJson(tooLarge, "definition", 100_000)),
    refusal(() => prepareJsonText(tooLarge, "definition", 100_000)),
  );
  const notJson = { ...large(), memoryKiB: Number.NaN } as DomainDefinition;
  assert.equal(
    refusal(() => prepareCompactJson(notJson, "definition", 8 << 20)),
    refusal(() => prepareJsonText(notJson, "definition", 8 << 20)),
  );
});

Deno.test("valueOfCompactJson gives the compact definition with its text remembered", () => {
  const definition = large();
  // As a thread's message arrives: a structured clone.
  const sent = structuredClone(prepareCompactJson(definition, "definition", 8 << 20));
  const received = valueOfCompactJson(sent);
  assert.ok(isCompactDefinition(received));
  assert.ok(isCompactPart(received, "description") && isCompactPart(received, "devices"));
  assert.equal(knownJsonText(received), sent.json);
  assert.equal(received.devices.emulator, "/usr/bin/qemu-system-x86_64");
  assert.deepEqual(received, definition);
  assert.equal(JSON.stringify(received), JSON.stringify(definition));
  // A snapshot keeps it compact, split devices included.
  const stored = JSON.parse(JSON.stringify(storedDefinition(received)));
  const restored = definitionFromStored(stored);
  assert.ok(isCompactPart(restored, "devices"));
  assert.deepEqual(restored, definition);
  // A small one is parsed, its text remembered too.
  const small = prepareCompactJson(testDefinition("small"), "definition", 1 << 20);
  const parsed = valueOfCompactJson(small);
  assert.equal(isCompactDefinition(parsed), false);
  assert.equal(knownJsonText(parsed), small.json);
});

Deno.test("a large string that needs escaping gets JSON.stringify's text, checksum and length", () => {
  const tails = ['"', "\\", "\n", "\u0001", "\ud800", "😀", "\u2028", "\u007f", "é"];
  for (const tail of tails) {
    const definition = { ...testDefinition("escape"), description: "x".repeat(70_000) + tail };
    const whole = prepareJsonText(definition, "definition", 1 << 20);
    const made = prepareCompactJson(definition, "definition", 1 << 20);
    assert.ok(made.parts !== undefined, JSON.stringify(tail));
    assert.equal(jsonTextString(made.json.text), whole.text, JSON.stringify(tail));
    assert.equal(made.json.crc, whole.crc, JSON.stringify(tail));
    assert.equal(made.json.bytes, whole.bytes, JSON.stringify(tail));
    assert.deepEqual(valueOfCompactJson(made), definition);
  }
});
