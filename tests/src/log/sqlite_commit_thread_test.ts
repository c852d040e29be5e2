import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { EventStoreWriteError } from "../../../src/log/mod.ts";
import { DATABASE_FILE, openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { SqliteCommitThread } from "../../../src/log/sqlite_commit_thread.ts";
import { answerCommit } from "../../../src/log/sqlite_commit_worker.ts";
import { noted } from "./event_store_contract.ts";
import type { AppendedFact } from "../../../src/log/fact_storage.ts";
import {
  isJsonTextReleased,
  joinJsonTexts,
  type JsonText,
  ownedJsonText,
  releaseJsonText,
} from "../../../src/log/json_pieces.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("evirt-log-", fn);

/** A fact row of stream `a` at `position` (its version), with `bodyJson` and checksum 0. */
function factRow(position: number, bodyJson: JsonText = "{}"): AppendedFact {
  return {
    position,
    stream: "a",
    version: position,
    type: "Noted",
    schemaVersion: 1,
    timestampMs: 1,
    bodyJson,
    checksum: 0,
  };
}

Deno.test("openSqliteStore({ commitThread }) writes commits another connection reads, and reopens", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir, { commitThread: true });
    try {
      await store.append("a", [noted(1), noted(2)], 0);
      await store.append("b", [noted(3)], 0);
      const outside = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
      try {
        const rows = outside.prepare(
          "SELECT position, stream, version FROM facts ORDER BY position",
        )
          .all();
        assert.deepEqual(rows.map((row) => [row.position, row.stream, row.version]), [
          [1, "a", 1],
          [2, "a", 2],
          [3, "b", 1],
        ]);
      } finally {
        outside.close();
      }
      // The store's own connection sees the thread's commits.
      assert.equal(await store.streamVersion("a"), 2);
      assert.deepEqual((await store.readAll({ afterPosition: 0 })).map((fact) => fact.body), [
        { n: 1 },
        { n: 2 },
        { n: 3 },
      ]);
    } finally {
      await store.close();
    }
    // Offsets of bodies written on the thread are right: a reopened store reads by size.
    const reopened = await openSqliteStore(dir);
    try {
      assert.equal(reopened.headPosition(), 3);
      assert.equal((await reopened.readStream("a")).length, 2);
      await reopened.append("a", [noted(4)], 2);
      assert.equal(reopened.headPosition(), 4);
    } finally {
      await reopened.close();
    }
  });
});

Deno.test("SqliteCommitThread reports a commit it could not finish in time as of unknown outcome", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    await store.close();
    // Thread start alone takes longer than 1 ms.
    const thread = new SqliteCommitThread(`${dir}/${DATABASE_FILE}`, 1);
    try {
      const row = factRow(1);
      const error = await thread.commit([row], new Map([["a", 1]]), 0).catch((failure) => failure);
      assert.match(error.message, /^the outcome of the commit is unknown: .*took longer than 1 ms/);
      const failure = new EventStoreWriteError(error);
      assert.equal(failure.failure.kind, "unknown_outcome");
      assert.equal(failure.failure.retryable, false);
    } finally {
      await thread.close();
    }
  });
});

Deno.test("answerCommit() rolls a refused commit back whole and names SQLite's cause", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    await store.append("a", [noted(1)], 0);
    await store.close();
    const path = `${dir}/${DATABASE_FILE}`;
    const row = (position: number) => factRow(position);
    try {
      // Position 1 exists: the second row's insert fails, and the first must not stay.
      const reply = answerCommit({
        kind: "commit",
        path,
        facts: [row(2), row(1)],
        streamVersions: [["a", 2]],
        bodyOffset: 0,
      });
      assert.equal(reply.ok, false);
      assert.match((reply as { message: string }).message, /UNIQUE constraint failed/);
    } finally {
      answerCommit({ kind: "close" });
    }
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assert.equal(db.prepare("SELECT count(*) AS n FROM facts").get()?.n, 1);
      assert.equal(db.prepare("SELECT version FROM streams WHERE name = 'a'").get()?.version, 1);
    } finally {
      db.close();
    }
  });
});

Deno.test("answerCommit() frees the bodies in UTF-8 pieces it was given, written or refused", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    await store.close();
    const path = `${dir}/${DATABASE_FILE}`;
    const row = (position: number) => {
      const text = ownedJsonText(['{"n":', String(position), "}"], 7, 7);
      return { ...factRow(position, joinJsonTexts(["", text])), text };
    };
    try {
      const written = [row(1), row(2)];
      const reply = answerCommit({
        kind: "commit",
        path,
        facts: written,
        streamVersions: [["a", 2]],
        bodyOffset: 0,
      });
      assert.deepEqual(reply, { ok: true, nextBodyOffset: 14 });
      assert.ok(written.every(({ text }) => isJsonTextReleased(text)));
      // Position 2 exists: refused, and freed all the same.
      const refused = [row(2)];
      assert.equal(
        answerCommit({ kind: "commit", path, facts: refused, streamVersions: [], bodyOffset: 14 })
          .ok,
        false,
      );
      assert.ok(isJsonTextReleased(refused[0].text));
    } finally {
      answerCommit({ kind: "close" });
    }
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const bodies = db.prepare("SELECT body, typeof(body) AS kind FROM facts ORDER BY position")
        .all();
      assert.deepEqual(bodies.map(({ body, kind }) => [body, kind]), [
        ['{"n":1}', "text"],
        ['{"n":2}', "text"],
      ]);
    } finally {
      db.close();
    }
  });
});

Deno.test("SqliteCommitThread refuses a fact whose body was moved already, without sending it", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    await store.close();
    const thread = new SqliteCommitThread(`${dir}/${DATABASE_FILE}`);
    try {
      const text = ownedJsonText(["{}"], 2, 2);
      releaseJsonText(text);
      const fact = factRow(1, text);
      await assert.rejects(
        thread.commit([fact], new Map([["a", 1]]), 0),
        /body was moved or released before its commit/,
      );
    } finally {
      await thread.close();
    }
  });
});
