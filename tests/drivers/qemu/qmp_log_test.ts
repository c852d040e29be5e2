import assert from "node:assert/strict";
import { QMP_LOG_EXCLUDED_COMMANDS, QmpLog } from "../../../drivers/qemu/qmp_log.ts";

function withDir(body: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-qmp-log-" });
  try {
    body(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const fixedClock = () => new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));

Deno.test("QmpLog.open creates the file with mode 0600", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`);
    log.close();
    assert.equal(Deno.statSync(`${dir}/vm.log`).mode! & 0o777, 0o600);
  });
});

Deno.test("QmpLog.open narrows an existing file to mode 0600 and appends to it", () => {
  withDir((dir) => {
    Deno.writeTextFileSync(`${dir}/vm.log`, "old line\n", { mode: 0o644 });
    Deno.chmodSync(`${dir}/vm.log`, 0o644);
    const log = QmpLog.open(`${dir}/vm.log`, { now: fixedClock });
    log.note("new");
    log.close();
    assert.equal(Deno.statSync(`${dir}/vm.log`).mode! & 0o777, 0o600);
    assert.equal(
      Deno.readTextFileSync(`${dir}/vm.log`),
      "old line\n2025-01-02T03:04:05.678Z NOTE new\n",
    );
  });
});

Deno.test("QmpLog writes QUERY, REPLY, EVENT and NOTE lines with RFC 3339 timestamps", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`, { now: fixedClock });
    log.command("stop", '{"execute":"stop","id":2}');
    log.event('{"event": "STOP"}');
    log.reply("stop", '{"return": {}, "id": 2}');
    log.note("two\nlines");
    log.close();
    assert.deepEqual(Deno.readTextFileSync(`${dir}/vm.log`).split("\n"), [
      '2025-01-02T03:04:05.678Z QUERY {"execute":"stop","id":2}',
      '2025-01-02T03:04:05.678Z EVENT {"event": "STOP"}',
      '2025-01-02T03:04:05.678Z REPLY {"return": {}, "id": 2}',
      "2025-01-02T03:04:05.678Z NOTE two lines",
      "",
    ]);
  });
});

Deno.test("QmpLog leaves out the stats sampler's commands and their replies", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`);
    for (const execute of QMP_LOG_EXCLUDED_COMMANDS) {
      assert.equal(log.excludes(execute), true);
      log.command(execute, `{"execute":"${execute}","id":9}`);
      log.reply(execute, '{"return": [], "id": 9}');
    }
    assert.equal(log.excludes("query-status"), false);
    log.close();
    assert.equal(Deno.readTextFileSync(`${dir}/vm.log`), "");
  });
});

Deno.test("QmpLog takes its own exclusion list", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`, { excludedCommands: ["query-status"] });
    log.command("query-status", "q");
    log.command("query-blockstats", "b");
    log.close();
    assert.match(Deno.readTextFileSync(`${dir}/vm.log`), /^\S+ QUERY b\n$/);
  });
});

Deno.test("QmpLog ignores writes after close", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`);
    log.close();
    log.note("too late");
    log.event("{}");
    log.close();
    assert.equal(log.isClosed, true);
    assert.equal(Deno.readTextFileSync(`${dir}/vm.log`), "");
  });
});

Deno.test("QmpLog rotates to <path>.1 when the size bound would be passed", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`, { maxBytes: 200, now: fixedClock });
    // Each line is 24 + 6 + 40 + 1 = 71 bytes: two fit in 200, the third rotates.
    for (let index = 0; index < 7; index++) log.note(`${index}`.padEnd(40, "."));
    log.close();
    const current = Deno.readTextFileSync(`${dir}/vm.log`);
    const previous = Deno.readTextFileSync(`${dir}/vm.log.1`);
    assert.ok(new TextEncoder().encode(current).length <= 200);
    assert.ok(new TextEncoder().encode(previous).length <= 200);
    assert.match(current, /NOTE 6\.+\n$/);
    assert.match(previous, /NOTE 4\.+\n.*NOTE 5\.+\n$/);
    assert.equal(Deno.statSync(`${dir}/vm.log`).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name).sort(), [
      "vm.log",
      "vm.log.1",
    ]);
  });
});

Deno.test("QmpLog cuts an over-long message and says how long it was", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`);
    log.reply("query-block", "y".repeat(100_000));
    log.close();
    const text = Deno.readTextFileSync(`${dir}/vm.log`);
    assert.ok(text.length < 70_000);
    assert.match(text, /… \(100000 characters\)\n$/);
  });
});

Deno.test("QmpLog.open refuses a size bound that is not a positive integer", () => {
  withDir((dir) => {
    assert.throws(() => QmpLog.open(`${dir}/vm.log`, { maxBytes: 0 }), RangeError);
  });
});

Deno.test("QmpLog stops writing after a failed write and remembers why", () => {
  withDir((dir) => {
    const log = QmpLog.open(`${dir}/vm.log`, { maxBytes: 10 });
    // The second line rotates, which renames the file; removing it first makes that fail.
    log.note("first");
    Deno.removeSync(`${dir}/vm.log`);
    log.note("second");
    assert.ok(log.writeError !== undefined);
    log.note("third");
    log.close();
  });
});
