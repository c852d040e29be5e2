import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Host } from "../../../actors/host.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { factChecksum } from "../../../src/log/fact_checksum.ts";
import { LOG_MARKER_FILE, readLogMarker } from "../../../src/log/log_marker.ts";
import { DATABASE_FILE, openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { DATABASE_FORMAT_VERSION } from "../../../src/log/sqlite_schema.ts";
import { DOMAIN_FACT_TYPES } from "../../../src/model/facts.ts";
import { reasonName, stateName } from "../../../src/model/lifecycle.ts";

/**
 * Written by the format-1 code (commit d71456f) through the host: alpha running, beta paused,
 * gamma started and destroyed, a snapshot at position 7.
 */
const FORMAT1_FIXTURE = new URL("../../fixtures/log/format1_events.sqlite", import.meta.url);

async function withFormat1Log(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-format1-" });
  try {
    await Deno.copyFile(FORMAT1_FIXTURE, `${dir}/${DATABASE_FILE}`);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function userVersion(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  } finally {
    db.close();
  }
}

Deno.test("openSqliteStore() upgrades a format-1 log: the host recovers every domain from it", async () => {
  await withFormat1Log(async (dir) => {
    assert.equal(userVersion(`${dir}/${DATABASE_FILE}`), 1);
    const store = await openSqliteStore(dir, { factTypes: DOMAIN_FACT_TYPES });
    const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
    try {
      const states = Object.fromEntries(
        host.list().map((summary) => [
          summary.name,
          `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`,
        ]),
      );
      // The test driver's instances did not survive its process, so reconcile says so for
      // alpha and beta; what matters is that all three definitions and gamma's stop came back.
      assert.deepEqual(Object.keys(states).sort(), ["alpha", "beta", "gamma"]);
      assert.equal(states.gamma, "shut off (destroyed)");
      assert.equal(store.headPosition() >= 11, true);
    } finally {
      await host.close();
      await store.close();
    }
    assert.equal(userVersion(`${dir}/${DATABASE_FILE}`), DATABASE_FORMAT_VERSION);
    const marker = readLogMarker(`${dir}/${LOG_MARKER_FILE}`);
    assert.equal(marker.kind, "present");
  });
});

Deno.test("openSqliteStore() stores in a format-1 log the checksums of its rows as they were", async () => {
  await withFormat1Log(async (dir) => {
    const before = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
    const rows = before.prepare(
      "SELECT position, stream, version, type, schema_version, timestamp_ms, body FROM facts ORDER BY position",
    ).all() as Record<string, string | number>[];
    before.close();
    await (await openSqliteStore(dir)).close();
    const after = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
    try {
      const stored = after.prepare("SELECT position, checksum FROM facts ORDER BY position")
        .all() as { position: number; checksum: number }[];
      assert.equal(stored.length, rows.length);
      rows.forEach((row, index) => {
        const expected = factChecksum({
          position: row.position as number,
          stream: row.stream as string,
          version: row.version as number,
          type: row.type as string,
          schemaVersion: row.schema_version as number,
          timestampMs: row.timestamp_ms as number,
          bodyJson: row.body as string,
        });
        assert.equal(stored[index].checksum, expected);
      });
      const meta = after.prepare("SELECT value FROM meta WHERE key = 'log_id'").get() as {
        value: string;
      };
      assert.match(meta.value, /^[0-9a-f-]{36}$/);
    } finally {
      after.close();
    }
  });
});

Deno.test("openSqliteStore() leaves a format-1 log untouched when its upgrade fails", async () => {
  await withFormat1Log(async (dir) => {
    // A fact table without the body column makes the upgrade's read fail midway.
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.exec("ALTER TABLE facts RENAME COLUMN body TO contents");
    db.close();
    await assert.rejects(openSqliteStore(dir));
    assert.equal(userVersion(`${dir}/${DATABASE_FILE}`), 1);
    const check = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
    try {
      const columns = check.prepare("PRAGMA table_info(facts)").all() as { name: string }[];
      assert.equal(columns.some((column) => column.name === "checksum"), false);
    } finally {
      check.close();
    }
  });
});
