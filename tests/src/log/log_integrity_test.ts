import assert from "node:assert/strict";
import { factChecksum, snapshotChecksum } from "../../../src/log/fact_checksum.ts";
import type { StoredFact, StoredSnapshot } from "../../../src/log/fact_storage.ts";
import { checkLogIntegrity, type IntegritySource } from "../../../src/log/log_integrity.ts";

function fact(position: number, stream: string, version: number, type = "A"): StoredFact {
  const row = { position, stream, version, type, schemaVersion: 1, timestampMs: 0, bodyJson: "{}" };
  return { ...row, checksum: factChecksum(row) };
}

function snapshot(position: number): StoredSnapshot {
  const row = { position, timestampMs: 0, stateJson: "{}" };
  return { ...row, checksum: snapshotChecksum(row) };
}

/** A source over plain arrays; `oldest` > 1 means facts before it were pruned. */
function source(
  facts: StoredFact[],
  streams: [string, number][],
  snapshots: StoredSnapshot[] = [],
  oldest = 1,
): IntegritySource {
  return {
    head: () => ({
      headPosition: facts.at(-1)?.position ?? oldest - 1,
      oldestPosition: oldest,
      lastTimestampMs: 0,
    }),
    readAll: (after, limit) => facts.filter((each) => each.position > after).slice(0, limit),
    listStreams: () => streams,
    listSnapshots: () => snapshots,
  };
}

function messages(report: ReturnType<typeof checkLogIntegrity>): string[] {
  return report.problems.map((problem) => problem.message);
}

Deno.test("checkLogIntegrity() finds nothing wrong in an intact log", () => {
  const report = checkLogIntegrity(
    source([fact(1, "a", 1), fact(2, "b", 1), fact(3, "a", 2)], [["a", 2], ["b", 1]], [
      snapshot(2),
    ]),
    { parseJson: true, isKnownType: (type) => type === "A" },
  );
  assert.deepEqual(report.problems, []);
  assert.equal(report.factsChecked, 3);
  assert.equal(report.streamsChecked, 2);
  assert.equal(report.snapshotsChecked, 1);
});

Deno.test("checkLogIntegrity() names a fact whose checksum fails", () => {
  const damaged = { ...fact(2, "a", 2), bodyJson: '{"x":1}' };
  const report = checkLogIntegrity(source([fact(1, "a", 1), damaged], [["a", 2]]));
  assert.equal(report.problems.length, 1);
  assert.equal(report.problems[0].kind, "checksum");
  assert.equal(report.problems[0].position, 2);
});

Deno.test("checkLogIntegrity() names missing positions and a skipped stream version", () => {
  const report = checkLogIntegrity(source([fact(1, "a", 1), fact(4, "a", 3)], [["a", 3]]));
  assert.deepEqual(messages(report), [
    "facts 2 to 3 are missing",
    "fact 4 is version 3 of stream 'a', where version 2 belongs",
  ]);
});

Deno.test("checkLogIntegrity() finds a streams table ahead of the facts, and behind", () => {
  const report = checkLogIntegrity(
    source([fact(1, "a", 1), fact(2, "b", 1)], [["a", 4], ["c", 2]]),
  );
  assert.deepEqual(messages(report), [
    "stream 'a' is at version 4 in the streams table, but its last fact is version 1: facts are missing from the end of the log",
    "stream 'c' is at version 2 in the streams table, but the log holds none of its facts: facts are missing",
    "stream 'b' has facts up to version 1 but no entry in the streams table",
  ]);
});

Deno.test("checkLogIntegrity() names unknown types only when told which are known", () => {
  const facts = [fact(1, "a", 1), fact(2, "a", 2, "Z")];
  assert.deepEqual(checkLogIntegrity(source(facts, [["a", 2]])).problems, []);
  const report = checkLogIntegrity(source(facts, [["a", 2]]), { isKnownType: (t) => t === "A" });
  assert.deepEqual(messages(report), ["fact 2 has the unknown type 'Z'"]);
});

Deno.test("checkLogIntegrity() accepts pruned streams but requires a snapshot covering the pruned facts", () => {
  const facts = [fact(5, "a", 3), fact(6, "b", 2)];
  const covered = checkLogIntegrity(
    source(facts, [["a", 3], ["b", 2], ["c", 1]], [snapshot(4)], 5),
  );
  assert.deepEqual(covered.problems, []);
  const uncovered = checkLogIntegrity(source(facts, [["a", 3], ["b", 2]], [snapshot(2)], 5));
  assert.deepEqual(messages(uncovered), [
    "facts up to position 4 were pruned, but no snapshot covers them",
  ]);
});

Deno.test("checkLogIntegrity() names a damaged snapshot and one beyond the head", () => {
  const damaged = { ...snapshot(1), stateJson: '{"x":1}' };
  const report = checkLogIntegrity(source([fact(1, "a", 1)], [["a", 1]], [damaged, snapshot(9)]));
  assert.deepEqual(report.problems.map((problem) => problem.kind), ["snapshot", "snapshot"]);
  assert.match(report.problems[0].message, /snapshot at position 1 fails its checksum/);
  assert.match(
    report.problems[1].message,
    /snapshot at position 9 is beyond the log's last fact 1/,
  );
});

Deno.test("checkLogIntegrity() lists at most 100 problems and counts the rest", () => {
  const facts = Array.from({ length: 150 }, (_, index) => ({
    ...fact(index + 1, "a", index + 1),
    checksum: 0,
  }));
  const report = checkLogIntegrity(source(facts, [["a", 150]]));
  assert.equal(report.problems.length, 100);
  assert.equal(report.problemsOmitted, 50);
});

Deno.test("checkLogIntegrity() stops at the first problem when onProblem throws", () => {
  const facts = [{ ...fact(1, "a", 1), checksum: 0 }, { ...fact(2, "a", 2), checksum: 0 }];
  assert.throws(
    () =>
      checkLogIntegrity(source(facts, [["a", 2]]), {
        onProblem: (problem) => {
          throw new Error(problem.message);
        },
      }),
    /fact 1 fails its checksum/,
  );
});
