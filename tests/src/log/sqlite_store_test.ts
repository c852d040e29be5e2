import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  EventStoreCorruptError,
  type JsonValue,
  SNAPSHOTS_KEPT_MAX,
} from "../../../src/log/mod.ts";
import { DATABASE_FILE, openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { StateLockedError } from "../../../src/log/errors.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { noted, range, runEventStoreContract } from "./event_store_contract.ts";
import { withTempDir } from "../../support/temp_dir.ts";

for (const commitThread of [false, true]) {
  runEventStoreContract(
    commitThread ? "SqliteStore (commits on a thread)" : "SqliteStore",
    async (options) => {
      const dir = await Deno.makeTempDir({ prefix: "evirt-log-" });
      try {
        const store = await openSqliteStore(dir, { ...options, commitThread });
        return {
          store,
          cleanup: async () => {
            await store.close();
            await Deno.remove(dir, { recursive: true });
          },
        };
      } catch (error) {
        await Deno.remove(dir, { recursive: true });
        throw error;
      }
    },
  );
}

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("evirt-log-", fn);

Deno.test("openSqliteStore() runs the database in WAL mode with synchronous=FULL", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    try {
      assert.deepEqual(store.settings(), { journalMode: "wal", synchronous: 2 });
      assert.equal(store.databasePath, `${dir}/${DATABASE_FILE}`);
    } finally {
      await store.close();
    }
    // WAL is a property of the file, so a fresh connection sees it too.
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
    try {
      assert.deepEqual({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
    } finally {
      db.close();
    }
  });
});

Deno.test("openSqliteStore() creates a missing state directory with mode 0700", async () => {
  await withDir(async (parent) => {
    const dir = `${parent}/deep/state`;
    const store = await openSqliteStore(dir);
    await store.close();
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  });
});

Deno.test("openSqliteStore() keeps the log and its WAL files readable by the owner only", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/${DATABASE_FILE}`;
    // A log left world-readable (a state directory made by hand, an older evirt) is tightened.
    new DatabaseSync(path).close();
    Deno.chmodSync(path, 0o644);
    const store = await openSqliteStore(dir);
    try {
      await store.append("domain/web", [{ type: "DomainDefined", body: { passwd: "s3cret" } }], 0);
      for (const suffix of ["", "-wal", "-shm"]) {
        assert.equal((await Deno.stat(`${path}${suffix}`)).mode! & 0o777, 0o600, suffix);
      }
    } finally {
      await store.close();
    }
  });
});

Deno.test("openSqliteStore() keeps facts, versions, snapshots and retention across reopening", async () => {
  await withDir(async (dir) => {
    const first = await openSqliteStore(dir);
    await first.append("a", range(1, 4).map(noted), 0);
    await first.append("b", [noted(5)], 0);
    await first.saveSnapshot({ position: 3, state: { seen: 3 } });
    await first.prune({ keepMax: 0 });
    await first.close();

    const second = await openSqliteStore(dir);
    try {
      assert.equal(second.headPosition(), 5);
      assert.equal(second.oldestPosition(), 4);
      assert.equal(await second.streamVersion("a"), 4);
      assert.deepEqual(await second.loadSnapshot(), { position: 3, state: { seen: 3 } });
      const facts = await second.readAll({ afterPosition: 3 });
      assert.deepEqual(facts.map((fact) => [fact.position, fact.stream, fact.version]), [
        [4, "a", 4],
        [5, "b", 1],
      ]);
      assert.equal((await second.append("a", [noted(6)], 4)).firstPosition, 6);
      const all = await second.readAll({ afterPosition: 3 });
      assert.deepEqual(all.map((fact) => fact.position), [4, 5, 6]);
    } finally {
      await second.close();
    }
  });
});

Deno.test("openSqliteStore() keeps the head when retention removed every fact", async () => {
  await withDir(async (dir) => {
    const first = await openSqliteStore(dir);
    await first.append("a", [noted(1), noted(2)], 0);
    await first.saveSnapshot({ position: 2, state: null });
    await first.prune({ keepMax: 0 });
    await first.close();
    const second = await openSqliteStore(dir);
    try {
      assert.equal(second.headPosition(), 2);
      assert.equal(second.oldestPosition(), 3);
      assert.deepEqual(await second.append("a", [noted(3)], 2), {
        firstPosition: 3,
        lastPosition: 3,
        streamVersion: 3,
      });
    } finally {
      await second.close();
    }
  });
});

Deno.test("openSqliteStore() upgrades facts written before an upcaster existed", async () => {
  await withDir(async (dir) => {
    const old = await openSqliteStore(dir);
    await old.append("a", [{ type: "DomainStarted", body: { pid: 7 } }], 0);
    await old.close();
    const upcasters = {
      DomainStarted: { 1: (body: JsonValue) => ({ ...(body as object), reason: "booted" }) },
    };
    const current = await openSqliteStore(dir, { upcasters });
    try {
      const [fact] = await current.readStream("a");
      assert.equal(fact.schemaVersion, 2);
      assert.deepEqual(fact.body, { pid: 7, reason: "booted" });
    } finally {
      await current.close();
    }
  });
});

Deno.test("saveSnapshot() keeps SNAPSHOTS_KEPT_MAX snapshot rows in the file", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    await store.append("a", [noted(1)], 0);
    for (let index = 0; index < SNAPSHOTS_KEPT_MAX + 3; index++) {
      await store.saveSnapshot({ position: index % 2, state: index });
    }
    await store.close();
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
    try {
      const rows = db.prepare("SELECT position, state FROM snapshots ORDER BY id").all();
      assert.equal(rows.length, SNAPSHOTS_KEPT_MAX);
      assert.ok(rows.every((row) => row.position === 1));
    } finally {
      db.close();
    }
  });
});

Deno.test("openSqliteStore() refuses a second open of the same directory", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir);
    try {
      const error = await openSqliteStore(dir).catch((error) => error);
      assert.ok(error instanceof StateLockedError, String(error));
      assert.match(error.message, new RegExp(`'${dir}' is locked: another evirt service`));
    } finally {
      await store.close();
    }
    await (await openSqliteStore(dir)).close();
  });
});

Deno.test("openSqliteStore() refuses a SQLite file that is not an evirt log", async () => {
  await withDir(async (dir) => {
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.exec("CREATE TABLE other (x)");
    db.close();
    const error = await openSqliteStore(dir).catch((error) => error);
    assert.ok(error instanceof EventStoreCorruptError);
    assert.match(error.message, /is not an evirt event log/);
    // The failed open released the lock.
    await assert.rejects(openSqliteStore(dir), EventStoreCorruptError);
  });
});

Deno.test("openSqliteStore() refuses a log written in a newer format", async () => {
  await withDir(async (dir) => {
    await (await openSqliteStore(dir)).close();
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.exec("PRAGMA user_version = 99");
    db.close();
    await assert.rejects(openSqliteStore(dir), /has format 99; this evirt reads formats 1 to 2/);
  });
});

Deno.test("openSqliteStore() reports a file that is not SQLite as SYSTEM_ERROR", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/${DATABASE_FILE}`, "not a database, just text ".repeat(100));
    const error = await openSqliteStore(dir).catch((error) => error);
    assert.ok(isVirtError(error, ErrorCode.SYSTEM_ERROR), String(error));
    assert.match(error.message, /cannot open event log '.*': file is not a database/);
    await assert.rejects(openSqliteStore(dir), /file is not a database/); // The lock was released.
  });
});
