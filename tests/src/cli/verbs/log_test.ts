import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Host } from "../../../../actors/host.ts";
import { TestDriver } from "../../../../drivers/test/test_driver.ts";
import { DATABASE_FILE, openSqliteStore } from "../../../../src/log/sqlite_store.ts";
import { DOMAIN_FACT_TYPES } from "../../../../src/model/facts.ts";
import { testDefinition } from "../../../support/domains.ts";
import { runFresh } from "../_cli_harness.ts";

/** A state directory whose log holds three test domains (one running), closed. */
async function withStateDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-logverb-" });
  try {
    const store = await openSqliteStore(`${dir}/state`, { factTypes: DOMAIN_FACT_TYPES });
    const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
    for (const name of ["one", "two", "three"]) await host.define(testDefinition(name));
    await host.start("two");
    await host.close();
    await store.close();
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function log(dir: string, ...words: string[]) {
  return runIn(dir, "state", words);
}

/** Runs `evirt log WORDS` on the state directory `dir/STATE`. */
function runIn(dir: string, state: string, words: string[]) {
  return runFresh(["log", ...words], {
    EVIRT_STATE_DIR: `${dir}/${state}`,
    EVIRT_RUNTIME_DIR: `${dir}/run`,
  });
}

Deno.test("log check reports an intact log and exits 0", async () => {
  await withStateDir(async (dir) => {
    const result = await log(dir, "check");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Log: +\S+events\.sqlite \(format 2, log [0-9a-f-]{36}\)$/m);
    assert.match(result.stdout, /^Positions: +1 to 6$/m);
    assert.match(result.stdout, /^Marker: +position 6 of log /m);
    assert.match(result.stdout, /^Result: +ok$/m);
  });
});

Deno.test("log check lists a damaged fact and a gap, and exits 1", async () => {
  await withStateDir(async (dir) => {
    const db = new DatabaseSync(`${dir}/state/${DATABASE_FILE}`);
    db.exec("UPDATE facts SET body = replace(body, 'one', 'One') WHERE position = 1");
    db.exec("DELETE FROM facts WHERE position = 3");
    db.close();
    const result = await log(dir, "check");
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^Problem: +fact 1 fails its checksum \(stored 0x/m);
    assert.match(result.stdout, /^Problem: +facts 3 to 3 are missing$/m);
    assert.match(result.stdout, /^Result: +\d+ problems$/m);
    const json = JSON.parse((await log(dir, "check", "--json")).stdout);
    assert.deepEqual(json.problems.slice(0, 2).map((problem: { kind: string }) => problem.kind), [
      "checksum",
      "sequence",
    ]);
  });
});

Deno.test("log check reports a log shorter than its marker", async () => {
  await withStateDir(async (dir) => {
    const db = new DatabaseSync(`${dir}/state/${DATABASE_FILE}`);
    db.exec("DELETE FROM facts WHERE position > 5");
    db.close();
    const result = await log(dir, "check");
    assert.equal(result.code, 1);
    assert.match(result.stdout, /marker says it reached 6: facts 6 to 6 are missing/);
    assert.match(
      result.stdout,
      /stream '[^']+' is at version \d in the streams table, but its last fact is version \d: facts are missing/,
    );
  });
});

Deno.test("log export then import restores the log, and the host recovers every domain", async () => {
  await withStateDir(async (dir) => {
    const exported = await log(dir, "export", `${dir}/backup.jsonl`);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^Exported facts 1 to 6, 3 streams, \d snapshots to /);
    assert.equal((await Deno.stat(`${dir}/backup.jsonl`)).mode! & 0o777, 0o600);
    const restore = (words: string[]) => runIn(dir, "restored", words);
    const imported = await restore(["import", `${dir}/backup.jsonl`]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal((await restore(["check"])).code, 0);
    const store = await openSqliteStore(`${dir}/restored`, { factTypes: DOMAIN_FACT_TYPES });
    const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
    try {
      assert.deepEqual(host.list().map((summary) => summary.name).sort(), ["one", "three", "two"]);
    } finally {
      await host.close();
      await store.close();
    }
  });
});

Deno.test("log export refuses to overwrite an existing file", async () => {
  await withStateDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/backup.jsonl`, "keep me");
    const result = await log(dir, "export", `${dir}/backup.jsonl`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot create '.*backup\.jsonl'/);
    assert.equal(await Deno.readTextFile(`${dir}/backup.jsonl`), "keep me");
  });
});

Deno.test("log import refuses a non-empty log and changes nothing", async () => {
  await withStateDir(async (dir) => {
    assert.equal((await log(dir, "export", `${dir}/backup.jsonl`)).code, 0);
    const result = await log(dir, "import", `${dir}/backup.jsonl`);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /cannot import into '.*events\.sqlite': it already holds a log \(up to position 6\)/,
    );
  });
});

Deno.test("log import refuses while a service holds the state directory", async () => {
  await withStateDir(async (dir) => {
    assert.equal((await log(dir, "export", `${dir}/backup.jsonl`)).code, 0);
    const running = await openSqliteStore(`${dir}/other`);
    try {
      const result = await runIn(dir, "other", ["import", `${dir}/backup.jsonl`]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /state directory '.*other' is locked: another evirt service/);
    } finally {
      await running.close();
    }
  });
});

Deno.test("log import refuses an edited or truncated export and leaves no log behind", async () => {
  await withStateDir(async (dir) => {
    assert.equal((await log(dir, "export", `${dir}/backup.jsonl`)).code, 0);
    const text = await Deno.readTextFile(`${dir}/backup.jsonl`);
    const cases: [string, string, RegExp][] = [
      [
        "edited",
        text.replace('\\"one\\"', '\\"uno\\"'),
        /backup-edited\.jsonl:2': fact 1 fails its checksum/,
      ],
      [
        "cut",
        text.split("\n").slice(0, 4).join("\n") + "\n",
        /the end line is missing: the file is truncated/,
      ],
      [
        "reordered",
        (() => {
          const lines = text.split("\n");
          [lines[2], lines[3]] = [lines[3], lines[2]];
          return lines.join("\n");
        })(),
        /backup-reordered\.jsonl:3': fact 3 where fact 2 belongs/,
      ],
    ];
    for (const [name, content, expected] of cases) {
      const file = `${dir}/backup-${name}.jsonl`;
      await Deno.writeTextFile(file, content);
      const target = `${dir}/target-${name}`;
      const result = await runIn(dir, `target-${name}`, ["import", file]);
      assert.equal(result.code, 1, name);
      assert.match(result.stderr, expected, name);
      await assert.rejects(Deno.stat(`${target}/${DATABASE_FILE}`), Deno.errors.NotFound, name);
    }
  });
});

Deno.test("log refuses an unknown action and a missing file", async () => {
  await withStateDir(async (dir) => {
    const unknown = await log(dir, "repair");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown log action 'repair': expected check, export, import/);
    const missing = await log(dir, "export");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /log export needs a FILE/);
  });
});

Deno.test("log check and export read a log the service holds open and appends to", async () => {
  await withStateDir(async (dir) => {
    const store = await openSqliteStore(`${dir}/state`, { factTypes: DOMAIN_FACT_TYPES });
    try {
      const appended = store.append("domain/extra", [{
        type: "domain.autostart_changed",
        body: { autostart: true },
      }], 0);
      const [checked, exported] = await Promise.all([
        log(dir, "check"),
        log(dir, "export", `${dir}/live.jsonl`),
      ]);
      await appended;
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /^Exported facts 1 to [67], /);
    } finally {
      await store.close();
    }
  });
});

Deno.test("log import is the recovery of a refused 0-byte log: the service opens it again", async () => {
  await withStateDir(async (dir) => {
    assert.equal((await log(dir, "export", `${dir}/backup.jsonl`)).code, 0);
    await Deno.writeFile(`${dir}/state/${DATABASE_FILE}`, new Uint8Array());
    await assert.rejects(
      openSqliteStore(`${dir}/state`),
      /is empty \(0 bytes\), but this state directory's log reached position 6/,
    );
    const imported = await log(dir, "import", `${dir}/backup.jsonl`);
    assert.equal(imported.code, 0, imported.stderr);
    const store = await openSqliteStore(`${dir}/state`, { factTypes: DOMAIN_FACT_TYPES });
    try {
      assert.equal(store.headPosition(), 6);
    } finally {
      await store.close();
    }
  });
});
