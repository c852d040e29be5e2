import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ChecksumMismatchError,
  EventLogRefusedError,
  EventStoreArgumentError,
  UnknownFactTypeError,
} from "../../../src/log/errors.ts";
import { factChecksum } from "../../../src/log/fact_checksum.ts";
import { LOG_MARKER_FILE } from "../../../src/log/log_marker.ts";
import { DATABASE_FILE, openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("evirt-open-", fn);

/** Writes `count` facts of type A to stream `s`, one per append, and closes the store. */
async function writeFacts(dir: string, count: number, snapshotAt?: number): Promise<void> {
  const store = await openSqliteStore(dir, { factTypes: ["A"] });
  for (let index = 0; index < count; index++) {
    await store.append("s", [{ type: "A", body: { index, text: `body-${index}-marker` } }], index);
  }
  if (snapshotAt !== undefined) await store.saveSnapshot({ position: snapshotAt, state: {} });
  await store.close();
}

/** Runs SQL on the closed log with a connection of its own. */
function edit(dir: string, sql: string, ...values: (string | number)[]): void {
  const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
  try {
    db.prepare(sql).run(...values);
  } finally {
    db.close();
  }
}

async function refusal(dir: string, options = {}): Promise<EventLogRefusedError> {
  const error = await openSqliteStore(dir, options).catch((error) => error);
  assert.ok(error instanceof EventLogRefusedError, `expected a refusal, got ${error}`);
  assert.ok(error.recovery.length > 0);
  assert.match(error.message, /to recover: \(1\)/);
  return error;
}

Deno.test("openSqliteStore() refuses a 0-byte log while runtime records of domains exist", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/${DATABASE_FILE}`, new Uint8Array());
    const record = `${dir}/run/qemu/domain-1-web`;
    const error = await refusal(dir, { runtimeRecords: [record] });
    assert.match(error.message, /is empty \(0 bytes\), but runtime records of domains exist/);
    assert.ok(error.message.includes(`'${record}'`));
    // Nothing changed: the empty file stays empty and no marker appears.
    assert.equal((await Deno.stat(`${dir}/${DATABASE_FILE}`)).size, 0);
    await assert.rejects(Deno.stat(`${dir}/${LOG_MARKER_FILE}`), Deno.errors.NotFound);
  });
});

Deno.test("openSqliteStore() starts a fresh log when there is neither a log nor a record", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir, { runtimeRecords: [] });
    assert.equal(store.headPosition(), 0);
    await store.close();
  });
});

Deno.test("openSqliteStore() refuses a log emptied to 0 bytes that the marker says held facts", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 3);
    await Deno.writeFile(`${dir}/${DATABASE_FILE}`, new Uint8Array());
    const error = await refusal(dir);
    assert.match(
      error.message,
      /is empty \(0 bytes\), but this state directory's log reached position 3/,
    );
    assert.match(error.message, /evirt log import FILE/);
  });
});

Deno.test("openSqliteStore() refuses a deleted log that the marker says held facts", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 2);
    await Deno.remove(`${dir}/${DATABASE_FILE}`);
    const error = await refusal(dir);
    assert.match(error.message, /is missing, but this state directory's log reached position 2/);
  });
});

Deno.test("openSqliteStore() refuses a log whose last facts were deleted, naming the missing positions", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 5);
    edit(dir, "DELETE FROM facts WHERE position > 3");
    const error = await refusal(dir);
    assert.match(
      error.message,
      /ends at position 3, but it reached position 5 before: facts 4 to 5/,
    );
  });
});

Deno.test("openSqliteStore() without a marker finds facts deleted from the tail by the streams table", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 5);
    edit(dir, "DELETE FROM facts WHERE position > 3");
    await Deno.remove(`${dir}/${LOG_MARKER_FILE}`);
    const error = await refusal(dir);
    assert.match(
      error.message,
      /stream 's' is at version 5 in the streams table, but its last fact is version 3: facts are missing from the end/,
    );
  });
});

Deno.test("openSqliteStore() refuses a log with a bit flipped in an old fact's body, naming its position", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 10, 10);
    // Flip one bit of fact 2's body in the file itself, as a failing disk would.
    const path = `${dir}/${DATABASE_FILE}`;
    const bytes = await Deno.readFile(path);
    const at = indexOf(bytes, new TextEncoder().encode("body-1-marker"));
    assert.ok(at > 0, "the body is in the file");
    bytes[at + 5] ^= 0x01;
    await Deno.writeFile(path, bytes);
    const error = await refusal(dir);
    assert.match(
      error.message,
      /is damaged: fact 2 fails its checksum \(stored 0x[0-9a-f]{8}, computed/,
    );
    assert.match(error.message, /evirt log check/);
  });
});

Deno.test("openSqliteStore() refuses a fact of an unknown type, naming position and type", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 3);
    retype(dir, 2, "Z");
    const error = await refusal(dir, { factTypes: ["A"] });
    assert.match(error.message, /fact 2 has the unknown type 'Z'/);
  });
});

Deno.test("openSqliteStore() accepts a fact type that only an upcaster knows", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 3);
    retype(dir, 2, "Z");
    const store = await openSqliteStore(dir, {
      factTypes: ["A"],
      upcasters: { Z: { 1: (body) => body } },
    });
    try {
      const facts = await store.readAll({ afterPosition: 0 });
      assert.deepEqual(facts.map((fact) => fact.type), ["A", "Z", "A"]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("openSqliteStore() refuses a log file replaced by another log", async () => {
  await withDir(async (dir) => {
    await withDir(async (other) => {
      await writeFacts(dir, 2);
      await writeFacts(other, 4);
      await Deno.copyFile(`${other}/${DATABASE_FILE}`, `${dir}/${DATABASE_FILE}`);
      const error = await refusal(dir);
      assert.match(
        error.message,
        /is log [0-9a-f-]{36}, but this state directory used log [0-9a-f-]{36} up to position 2: the file was replaced/,
      );
    });
  });
});

Deno.test("LogStore.readAll() fails on a fact changed after the log was opened, naming its position", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 3);
    const store = await openSqliteStore(dir);
    try {
      edit(dir, "UPDATE facts SET body = '{\"index\":9}' WHERE position = 2");
      const error = await store.readAll({ afterPosition: 0 }).catch((error) => error);
      assert.ok(error instanceof ChecksumMismatchError);
      assert.equal(error.position, 2);
      assert.match(error.message, /fact 2 fails its checksum/);
    } finally {
      await store.close();
    }
  });
});

Deno.test("LogStore.loadSnapshot() fails on a snapshot changed after it was saved", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 3, 3);
    const store = await openSqliteStore(dir);
    try {
      edit(dir, "UPDATE snapshots SET state = '{\"x\":1}'");
      await assert.rejects(store.loadSnapshot(), /snapshot at position 3 fails its checksum/);
    } finally {
      await store.close();
    }
  });
});

Deno.test("LogStore refuses on read a fact type written while the log was open", async () => {
  await withDir(async (dir) => {
    await writeFacts(dir, 3);
    const store = await openSqliteStore(dir, { factTypes: ["A"] });
    try {
      retype(dir, 3, "Z");
      const error = await store.readAll({ afterPosition: 0 }).catch((error) => error);
      assert.ok(error instanceof UnknownFactTypeError);
      assert.equal(error.position, 3);
    } finally {
      await store.close();
    }
  });
});

Deno.test("LogStore.append() refuses a fact type the log does not hold", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStore(dir, { factTypes: ["A"] });
    try {
      const error = await store.append("s", [{ type: "B", body: {} }], 0).catch((error) => error);
      assert.ok(error instanceof EventStoreArgumentError);
      assert.equal(error.where, "facts[0].type");
      assert.equal(store.headPosition(), 0);
    } finally {
      await store.close();
    }
  });
});

/** Gives the fact at `position` another type, with a checksum that matches, as a newer evirt would. */
function retype(dir: string, position: number, type: string): void {
  const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
  try {
    const row = db.prepare(
      "SELECT stream, version, schema_version, timestamp_ms, body FROM facts WHERE position = ?",
    ).get(position) as {
      stream: string;
      version: number;
      schema_version: number;
      timestamp_ms: number;
      body: string;
    };
    const checksum = factChecksum({
      position,
      stream: row.stream,
      version: row.version,
      type,
      schemaVersion: row.schema_version,
      timestampMs: row.timestamp_ms,
      bodyJson: row.body,
    });
    db.prepare("UPDATE facts SET type = ?, checksum = ? WHERE position = ?").run(
      type,
      checksum,
      position,
    );
  } finally {
    db.close();
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let index = 0; index + needle.length <= haystack.length; index++) {
    for (let offset = 0; offset < needle.length; offset++) {
      if (haystack[index + offset] !== needle[offset]) continue outer;
    }
    return index;
  }
  return -1;
}
