/**
 * Commits of the SQLite log on a worker thread (sqlite_commit_worker.ts) with a connection of
 * its own, so the writes and the fsync of each commit (`synchronous=FULL`: tens of milliseconds
 * on a busy disk) never stall the service's main loop. The store's own connection still reads;
 * in WAL mode it sees each commit once the thread has answered.
 *
 * The store has at most one commit in flight (`LogStore` holds the next batch until it is
 * durable). A commit that SQLite refuses is rolled back whole and reported with SQLite's words,
 * as on the main loop. A thread that fails or does not answer within
 * {@linkcode COMMIT_THREAD_TIMEOUT_MS} leaves the commit's outcome unknown: that is reported as
 * such, and the store refuses further writes until a restart reads the log again.
 *
 * @module
 */

import { errorOfReply, WorkerPool } from "../workers/worker_pool.ts";
import type { AppendedFact } from "./fact_storage.ts";
import { copiedChars, isJsonTextReleased, jsonTextBuffers } from "./json_pieces.ts";
import type { CommitReply, CommitRequest } from "./sqlite_commit_worker.ts";

/** How long one commit may take on its thread, in ms (thread start included). */
export const COMMIT_THREAD_TIMEOUT_MS = 60_000;

const WORKER_URL = new URL("./sqlite_commit_worker.ts", import.meta.url).href;

/** The words of a commit whose outcome is unknown (classified by write_failure.ts). */
export const UNKNOWN_OUTCOME = "the outcome of the commit is unknown";

/**
 * The commit thread of one SQLite log.
 *
 * @example
 * ```ts ignore
 * const thread = new SqliteCommitThread(`${dir}/events.sqlite`);
 * const next = await thread.commit(rows, new Map([["s", 1]]), 0);
 * await thread.close();
 * ```
 */
export class SqliteCommitThread {
  readonly #path: string;
  readonly #pool: WorkerPool<CommitRequest, CommitReply>;

  /**
   * @param path The database file (already set up by the store's connection).
   * @param timeoutMs Time per commit, in ms. Default {@linkcode COMMIT_THREAD_TIMEOUT_MS}.
   */
  constructor(path: string, timeoutMs = COMMIT_THREAD_TIMEOUT_MS) {
    this.#path = path;
    this.#pool = new WorkerPool(WORKER_URL, {
      threadsMax: 1,
      queueMax: 2,
      timeoutMs,
      task: "committing to the event log",
    });
  }

  /**
   * Writes `facts` and the streams' versions in one transaction on the thread. Bodies in UTF-8
   * pieces move there (json_pieces.ts), which frees them: they read as released here afterwards.
   *
   * @returns Where the body of the fact after the last one starts.
   * @throws {Error} SQLite's error (nothing written); or an error saying the outcome is unknown.
   */
  async commit(
    facts: readonly AppendedFact[],
    streamVersions: ReadonlyMap<string, number>,
    bodyOffset: number,
  ): Promise<number> {
    if (facts.some((fact) => isJsonTextReleased(fact.bodyJson))) {
      // Never sent: a bug upstream, not an unknown outcome.
      throw new Error("a fact's body was moved or released before its commit");
    }
    let reply: CommitReply;
    try {
      reply = await this.#pool.run(
        {
          kind: "commit",
          path: this.#path,
          facts: [...facts],
          streamVersions: [...streamVersions],
          bodyOffset,
        },
        // Bodies in UTF-8 pieces move to the thread (json_pieces.ts), which frees them.
        [...new Set(facts.flatMap((fact) => jsonTextBuffers(fact.bodyJson)))],
        // A large commit of strings is copied to the thread in its own turn of the loop, so
        // the copy does not run on from the work that made it.
        bodyChars(facts) >= LARGE_COMMIT_CHARS,
      );
    } catch (error) {
      throw new Error(`${UNKNOWN_OUTCOME}: ${(error as Error).message}`, { cause: error });
    }
    if (!reply.ok) throw errorOfReply(reply);
    return reply.nextBodyOffset;
  }

  /** Closes the thread's connection, then ends the thread. */
  async close(): Promise<void> {
    try {
      if (this.#pool.threads > 0) await this.#pool.run({ kind: "close" });
    } catch {
      // The thread is ended below either way; its connection goes with it.
    } finally {
      this.#pool.close();
    }
  }
}

/** A commit whose fact bodies copy this many characters or more yields around its copy. */
const LARGE_COMMIT_CHARS = 1024 * 1024;

/** The characters of the bodies the message to the thread copies (UTF-8 pieces move). */
function bodyChars(facts: readonly AppendedFact[]): number {
  let chars = 0;
  for (const fact of facts) chars += copiedChars(fact.bodyJson);
  return chars;
}
