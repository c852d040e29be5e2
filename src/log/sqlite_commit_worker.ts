/**
 * The worker thread behind `SqliteCommitThread` (sqlite_commit_thread.ts): it holds a second
 * connection to the log's file and writes each commit there, so the transaction's writes and
 * its fsync (`synchronous=FULL`) never hold the service's main loop.
 *
 * Message in: {@linkcode CommitRequest}. Message out: {@linkcode CommitReply}.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { AppendedFact } from "./fact_storage.ts";
import { releaseJsonText } from "./json_pieces.ts";
import {
  commitFacts,
  type CommitStatements,
  INSERT_FACT_SQL,
  UPSERT_STREAM_SQL,
} from "./sqlite_commit.ts";
import { setPragmas } from "./sqlite_schema.ts";
import {
  replyOfError,
  serveWorkerRequests,
  type WorkerErrorReply,
} from "../workers/worker_pool.ts";

/** One commit (on the file at `path`), or the end of the connection. */
export type CommitRequest =
  | {
    kind: "commit";
    /** The database file (opened on the first commit). */
    path: string;
    facts: AppendedFact[];
    streamVersions: [string, number][];
    /** Where the first fact's body starts. */
    bodyOffset: number;
  }
  | { kind: "close" };

/** Done (with where the next body starts), or SQLite's error. */
export type CommitReply = { ok: true; nextBodyOffset: number } | WorkerErrorReply;

interface Connection {
  path: string;
  db: DatabaseSync;
  statements: CommitStatements;
}

let connection: Connection | undefined;

function connect(path: string): Connection {
  if (connection?.path === path) return connection;
  connection?.db.close();
  connection = undefined;
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: false });
  try {
    setPragmas(db, path, false);
    connection = {
      path,
      db,
      statements: {
        insertFact: db.prepare(INSERT_FACT_SQL),
        upsertStream: db.prepare(UPSERT_STREAM_SQL),
      },
    };
    return connection;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Answers one request (exported so it can be tested without a thread), and frees the bodies in
 * UTF-8 pieces it was given (see `SqliteCommitThread.commit`).
 *
 * @example
 * ```ts
 * import { answerCommit } from "./sqlite_commit_worker.ts";
 * console.log(answerCommit({ kind: "close" })); // { ok: true, nextBodyOffset: 0 }
 * ```
 */
export function answerCommit(request: CommitRequest): CommitReply {
  try {
    if (request.kind === "close") {
      connection?.db.close();
      connection = undefined;
      return { ok: true, nextBodyOffset: 0 };
    }
    const { db, statements } = connect(request.path);
    const next = commitFacts(
      db,
      statements,
      request.facts,
      request.streamVersions,
      request.bodyOffset,
    );
    return { ok: true, nextBodyOffset: next };
  } catch (error) {
    return replyOfError(error);
  } finally {
    // Bodies in UTF-8 pieces moved here (json_pieces.ts) end here, written or not: freed now,
    // not at this thread's next collection.
    if (request.kind === "commit") {
      for (const fact of request.facts) releaseJsonText(fact.bodyJson);
    }
  }
}

serveWorkerRequests(answerCommit);
