import assert from "node:assert/strict";
import { classifyWriteFailure } from "../../../src/log/write_failure.ts";

Deno.test("classifyWriteFailure() names each SQLite write failure's cause", () => {
  const cases: [string, string, string, boolean][] = [
    ["database or disk is full", "disk_full", "no space left on device", true],
    ["attempt to write a readonly database", "read_only", "the file system is read-only", true],
    ["disk I/O error", "io_error", "an I/O error on the log file", true],
    ["database is locked", "locked", "the log file is locked by another process", true],
    ["database disk image is malformed", "damaged", "the log file is damaged", false],
    ["file is not a database", "damaged", "the log file is damaged", false],
    [
      "the outcome of the commit is unknown: committing to the event log took longer than 60000 ms",
      "unknown_outcome",
      "the outcome of a write is unknown",
      false,
    ],
  ];
  for (const [message, kind, description, retryable] of cases) {
    const failure = classifyWriteFailure(new Error(message));
    assert.deepEqual(failure, { kind, description, retryable, detail: message }, message);
  }
});

Deno.test("classifyWriteFailure() keeps an unknown cause's own words and allows a retry", () => {
  assert.deepEqual(classifyWriteFailure("out of memory"), {
    kind: "other",
    description: "out of memory",
    retryable: true,
    detail: "out of memory",
  });
});
