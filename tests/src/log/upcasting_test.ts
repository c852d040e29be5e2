import assert from "node:assert/strict";
import { EventStoreArgumentError, EventStoreCorruptError } from "../../../src/log/errors.ts";
import type { JsonValue } from "../../../src/log/event_store.ts";
import { Upcasting } from "../../../src/log/upcasting.ts";

const upcasting = new Upcasting({
  Renamed: {
    1: (body: JsonValue) => ({ name: (body as { title: string }).title }),
    2: (body: JsonValue) => ({ ...(body as object), renamedBy: "unknown" }),
  },
});

Deno.test("Upcasting.currentVersion() is one past the last upcaster, else 1", () => {
  assert.equal(upcasting.currentVersion("Renamed"), 3);
  assert.equal(upcasting.currentVersion("Other"), 1);
});

Deno.test("Upcasting.upgrade() chains every step from the stored version", () => {
  assert.deepEqual(upcasting.upgrade(1, "Renamed", 1, { title: "web" }), {
    name: "web",
    renamedBy: "unknown",
  });
  assert.deepEqual(upcasting.upgrade(1, "Renamed", 2, { name: "db" }), {
    name: "db",
    renamedBy: "unknown",
  });
  assert.deepEqual(upcasting.upgrade(1, "Renamed", 3, { name: "x", renamedBy: "y" }), {
    name: "x",
    renamedBy: "y",
  });
});

Deno.test("Upcasting.upgrade() refuses a version newer than it knows", () => {
  assert.throws(
    () => upcasting.upgrade(9, "Other", 2, {}),
    (error) =>
      error instanceof EventStoreCorruptError &&
      /fact 9 of type 'Other' has schema version 2, newer than the known 1/.test(error.message),
  );
});

Deno.test("Upcasting refuses upcasters that are not functions keyed 1, 2, …", () => {
  assert.throws(
    () => new Upcasting({ A: { 1: (b: JsonValue) => b, 3: (b: JsonValue) => b } }),
    EventStoreArgumentError,
  );
  assert.throws(
    () => new Upcasting({ A: { 1: "nope" as unknown as (b: JsonValue) => JsonValue } }),
    EventStoreArgumentError,
  );
});
