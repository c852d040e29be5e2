import assert from "node:assert/strict";
import { EventStoreWriteError } from "../../../src/log/mod.ts";
import { openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { ErrorCode } from "../../../src/model/errors.ts";
import { TMPFS_SKIP_REASON, withSmallTmpfs } from "../../support/small_tmpfs.ts";
import { noted } from "./event_store_contract.ts";

if (TMPFS_SKIP_REASON !== undefined) console.log(`skipping full-disk tests: ${TMPFS_SKIP_REASON}`);

/** A body large enough that each commit needs fresh pages of the WAL. */
function bulky(n: number) {
  return { type: "Noted", body: { n, pad: "x".repeat(8192) } };
}

for (const commitThread of [false, true]) {
  Deno.test({
    name: `SqliteStore${
      commitThread ? " (commits on a thread)" : ""
    } on a full disk names the cause, then appends again once space is freed`,
    ignore: TMPFS_SKIP_REASON !== undefined,
    fn: () =>
      withSmallTmpfs(2048, async (tmpfs) => {
        const store = await openSqliteStore(`${tmpfs.dir}/state`, { commitThread });
        try {
          await store.append("a", [noted(1)], 0);
          await tmpfs.fill();
          let version = 1;
          let error: unknown;
          // The WAL may still hold a free page or two: append until the disk refuses.
          for (let attempt = 0; attempt < 64 && error === undefined; attempt++) {
            await store.append("a", [bulky(version + 1)], version).then(
              () => version++,
              (failure) => error = failure,
            );
          }
          assert.ok(error instanceof EventStoreWriteError, String(error));
          assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
          assert.equal(error.failure.kind, "disk_full");
          assert.equal(
            error.message,
            "cannot write the event log: no space left on device (database or disk is full)",
          );
          const head = store.headPosition();
          assert.equal(head, version);
          // Still full: the same clear cause, not a stuck transaction's message.
          const again = await store.append("a", [bulky(0)], version).catch((failure) => failure);
          assert.equal(again.message, error.message);

          await tmpfs.free();
          const result = await store.append("a", [noted(version + 1)], version);
          assert.equal(result.streamVersion, version + 1);
          assert.equal(store.headPosition(), head + 1);
        } finally {
          await store.close();
        }
        const reopened = await openSqliteStore(`${tmpfs.dir}/state`);
        try {
          const facts = await reopened.readStream("a");
          assert.deepEqual(facts.map((fact) => fact.version), facts.map((_, index) => index + 1));
          assert.equal(reopened.headPosition(), facts.length);
        } finally {
          await reopened.close();
        }
      }),
  });
}
