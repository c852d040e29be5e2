/**
 * The whole-log integrity check: one pass over every retained fact (checksum, gapless position,
 * consecutive stream versions, known type), then the streams table against the facts, then the
 * snapshots. Start-up runs it and stops at the first problem; `evirt log check` runs it to the end
 * and reports every problem (up to a bound).
 *
 * @module
 */

import { READ_BYTES_MAX } from "./event_store.ts";
import { checksumText, factChecksum, snapshotChecksum } from "./fact_checksum.ts";
import type { StorageHead, StoredFact, StoredSnapshot } from "./fact_storage.ts";

/** Facts read per page during the check; bounds its memory with {@linkcode READ_BYTES_MAX}. */
export const INTEGRITY_PAGE_FACTS = 10_000;

/** Problems a report lists; later ones are only counted. */
export const INTEGRITY_PROBLEMS_MAX = 100;

/** What the check reads. */
export interface IntegritySource {
  head(): StorageHead;
  readAll(afterPosition: number, limit: number, maxBytes: number): StoredFact[];
  listStreams(): [string, number][];
  listSnapshots(): StoredSnapshot[];
}

/** The kinds of problem, for scripts that read the JSON report. */
export type IntegrityProblemKind =
  | "checksum"
  | "sequence"
  | "stream"
  | "type"
  | "body"
  | "snapshot"
  | "marker";

/** One problem found. */
export interface IntegrityProblem {
  kind: IntegrityProblemKind;
  /** The fact's position (or the snapshot's), when the problem has one. */
  position?: number;
  /** What is wrong, in libvirt's lower-case wording. */
  message: string;
}

/** What the check found. */
export interface IntegrityReport {
  oldestPosition: number;
  headPosition: number;
  factsChecked: number;
  streamsChecked: number;
  snapshotsChecked: number;
  /** The first {@linkcode INTEGRITY_PROBLEMS_MAX} problems, in the order found. */
  problems: IntegrityProblem[];
  /** Problems found beyond those listed. */
  problemsOmitted: number;
}

/** Options of {@linkcode checkLogIntegrity}. */
export interface IntegrityOptions {
  /** Whether a fact type is one the log may hold. Default: every type. */
  isKnownType?: (type: string) => boolean;
  /** Also parse every body and snapshot state as JSON (the checksum already covers them). */
  parseJson?: boolean;
  /** Called with each problem as it is found; throwing stops the check (start-up does). */
  onProblem?: (problem: IntegrityProblem) => void;
}

/**
 * Checks the whole retained log.
 *
 * @param source The storage to read.
 * @param options Known types, JSON parsing, a problem callback.
 * @returns The report; `problems` is empty when the log is intact.
 *
 * @example Checking an in-memory storage
 * ```ts ignore
 * import { checkLogIntegrity } from "./log_integrity.ts";
 * const report = checkLogIntegrity(storage);
 * console.log(report.problems.length === 0 ? "intact" : report.problems[0].message);
 * ```
 */
export function checkLogIntegrity(
  source: IntegritySource,
  options: IntegrityOptions = {},
): IntegrityReport {
  const head = source.head();
  const report: IntegrityReport = {
    oldestPosition: head.oldestPosition,
    headPosition: head.headPosition,
    factsChecked: 0,
    streamsChecked: 0,
    snapshotsChecked: 0,
    problems: [],
    problemsOmitted: 0,
  };
  const found = (problem: IntegrityProblem) => {
    options.onProblem?.(problem);
    if (report.problems.length < INTEGRITY_PROBLEMS_MAX) report.problems.push(problem);
    else report.problemsOmitted++;
  };
  const lastVersions = checkFacts(source, head, options, report, found);
  checkStreams(source, head, lastVersions, report, found);
  checkSnapshots(source, head, options, report, found);
  return report;
}

function checkFacts(
  source: IntegritySource,
  head: StorageHead,
  options: IntegrityOptions,
  report: IntegrityReport,
  found: (problem: IntegrityProblem) => void,
): Map<string, number> {
  const lastVersions = new Map<string, number>();
  const pruned = head.oldestPosition > 1;
  let expected = head.oldestPosition;
  let after = head.oldestPosition - 1;
  // Each page starts after the last position read, so the loop ends within head/page pages.
  for (;;) {
    const rows = source.readAll(after, INTEGRITY_PAGE_FACTS, READ_BYTES_MAX);
    if (rows.length === 0) break;
    for (const row of rows) {
      report.factsChecked++;
      if (row.position !== expected) {
        found({
          kind: "sequence",
          position: expected,
          message: row.position > expected
            ? `facts ${expected} to ${row.position - 1} are missing`
            : `fact ${row.position} is out of order after ${expected - 1}`,
        });
      }
      expected = row.position + 1;
      after = row.position;
      checkFact(row, lastVersions, pruned, options, found);
    }
  }
  if (expected - 1 < head.headPosition) {
    found({
      kind: "sequence",
      position: expected,
      message: `facts ${expected} to ${head.headPosition} are missing`,
    });
  }
  return lastVersions;
}

function checkFact(
  row: StoredFact,
  lastVersions: Map<string, number>,
  pruned: boolean,
  options: IntegrityOptions,
  found: (problem: IntegrityProblem) => void,
): void {
  const computed = factChecksum(row);
  if (computed !== row.checksum) {
    found({
      kind: "checksum",
      position: row.position,
      message: `fact ${row.position} fails its checksum (stored ${
        checksumText(row.checksum)
      }, computed ${checksumText(computed)})`,
    });
  }
  if (options.isKnownType !== undefined && !options.isKnownType(row.type)) {
    found({
      kind: "type",
      position: row.position,
      message: `fact ${row.position} has the unknown type '${row.type}'`,
    });
  }
  const previous = lastVersions.get(row.stream);
  // A stream's first retained fact may be past version 1 only when older facts were pruned.
  const expectedVersion = previous === undefined ? (pruned ? row.version : 1) : previous + 1;
  if (row.version !== expectedVersion) {
    found({
      kind: "stream",
      position: row.position,
      message: `fact ${row.position} is version ${row.version} of stream '${row.stream}', ` +
        `where version ${expectedVersion} belongs`,
    });
  }
  lastVersions.set(row.stream, row.version);
  if (options.parseJson && !isJson(row.bodyJson)) {
    found({
      kind: "body",
      position: row.position,
      message: `fact ${row.position} has a body that is not valid JSON`,
    });
  }
}

function checkStreams(
  source: IntegritySource,
  head: StorageHead,
  lastVersions: Map<string, number>,
  report: IntegrityReport,
  found: (problem: IntegrityProblem) => void,
): void {
  const listed = new Set<string>();
  for (const [name, version] of source.listStreams()) {
    report.streamsChecked++;
    listed.add(name);
    const last = lastVersions.get(name);
    if (last !== undefined && last !== version) {
      found({
        kind: "stream",
        message: `stream '${name}' is at version ${version} in the streams table, but its last ` +
          `fact is version ${last}` +
          (version > last ? ": facts are missing from the end of the log" : ""),
      });
    } else if (last === undefined && head.oldestPosition === 1 && version > 0) {
      found({
        kind: "stream",
        message: `stream '${name}' is at version ${version} in the streams table, ` +
          "but the log holds none of its facts: facts are missing",
      });
    }
  }
  for (const [name, last] of lastVersions) {
    if (listed.has(name)) continue;
    found({
      kind: "stream",
      message: `stream '${name}' has facts up to version ${last} but no entry in the streams table`,
    });
  }
}

function checkSnapshots(
  source: IntegritySource,
  head: StorageHead,
  options: IntegrityOptions,
  report: IntegrityReport,
  found: (problem: IntegrityProblem) => void,
): void {
  let newest = -1;
  for (const snapshot of source.listSnapshots()) {
    report.snapshotsChecked++;
    const computed = snapshotChecksum(snapshot);
    if (computed !== snapshot.checksum) {
      found({
        kind: "snapshot",
        position: snapshot.position,
        message: `snapshot at position ${snapshot.position} fails its checksum (stored ${
          checksumText(snapshot.checksum)
        }, computed ${checksumText(computed)})`,
      });
    }
    if (snapshot.position > head.headPosition || snapshot.position < 0) {
      found({
        kind: "snapshot",
        position: snapshot.position,
        message: `snapshot at position ${snapshot.position} is beyond the log's last fact ` +
          `${head.headPosition}`,
      });
    }
    if (options.parseJson && !isJson(snapshot.stateJson)) {
      found({
        kind: "snapshot",
        position: snapshot.position,
        message: `snapshot at position ${snapshot.position} is not valid JSON`,
      });
    }
    newest = Math.max(newest, snapshot.position);
  }
  if (head.oldestPosition > 1 && newest < head.oldestPosition - 1) {
    found({
      kind: "snapshot",
      message: `facts up to position ${head.oldestPosition - 1} were pruned, but no snapshot ` +
        "covers them",
    });
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
