import assert from "node:assert/strict";
import {
  checkInteger,
  checkLimit,
  checkRetentionPolicy,
  checkStreamName,
  prepareAppend,
} from "../../../src/log/argument_checks.ts";
import { EventStoreArgumentError } from "../../../src/log/errors.ts";
import { READ_LIMIT_MAX } from "../../../src/log/event_store.ts";
import { Upcasting } from "../../../src/log/upcasting.ts";

const upcasting = new Upcasting({ Moved: { 1: (body) => body } });

Deno.test("prepareAppend() defaults the schema version to the type's current one", () => {
  const [request] = prepareAppend([{
    stream: "s",
    facts: [{ type: "Moved", body: 1 }, { type: "Moved", body: 2, schemaVersion: 1 }, {
      type: "Other",
      body: 3,
    }],
    expectedVersion: "any",
  }], upcasting);
  assert.equal(request.expectedVersion, -1);
  assert.deepEqual(request.facts, [
    { type: "Moved", schemaVersion: 2, bodyJson: "1", body: 1 },
    { type: "Moved", schemaVersion: 1, bodyJson: "2", body: 2 },
    { type: "Other", schemaVersion: 1, bodyJson: "3", body: 3 },
  ]);
});

Deno.test("prepareAppend() names the request at fault when there are several", () => {
  assert.throws(
    () =>
      prepareAppend([
        { stream: "a", facts: [{ type: "A", body: 1 }], expectedVersion: 0 },
        { stream: "b", facts: [{ type: "A", body: 1 }], expectedVersion: -2 },
      ], upcasting),
    (error) =>
      error instanceof EventStoreArgumentError && error.where === "requests[1].expectedVersion",
  );
  assert.throws(() => prepareAppend([], upcasting), /requests must be a non-empty array/);
});

Deno.test("checkStreamName() accepts names up to the limit, including unicode", () => {
  checkStreamName("domain/c7a5fdbd-cdaf-9455-926a-d65c16db1809");
  checkStreamName("é".repeat(128));
  assert.throws(() => checkStreamName("é".repeat(129)), /stream name is too long/);
  assert.throws(() => checkStreamName("a\u007fb"), /control characters/);
  assert.throws(() => checkStreamName(7), /non-empty string/);
});

Deno.test("checkInteger() and checkLimit() name the argument and the value", () => {
  assert.equal(checkInteger(3, "x", 0, 5), 3);
  assert.throws(() => checkInteger(6, "x", 0, 5), /x must be an integer from 0 to 5, got 6/);
  assert.equal(checkLimit(undefined), READ_LIMIT_MAX);
  assert.throws(() => checkLimit("10"), /limit must be an integer/);
});

Deno.test("checkRetentionPolicy() keeps only known fields and refuses bad values", () => {
  assert.deepEqual(checkRetentionPolicy({ keepMax: 5, other: 1 }), { keepMax: 5 });
  assert.deepEqual(checkRetentionPolicy({}), {});
  assert.throws(
    () => checkRetentionPolicy({ maxAgeMs: 1.5 }),
    /policy.maxAgeMs must be an integer/,
  );
  assert.throws(() => checkRetentionPolicy(null), /policy must be an object/);
});
