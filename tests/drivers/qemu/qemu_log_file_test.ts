import assert from "node:assert/strict";
import {
  appendQemuLog,
  logFileNameFits,
  logFileStem,
  QEMU_LOG_MAX_BYTES,
  shellQuote,
  startLines,
} from "../../../drivers/qemu/qemu_log_file.ts";

Deno.test("shellQuote leaves plain words alone and quotes the rest", () => {
  assert.equal(shellQuote("size=128M,slots=2"), "size=128M,slots=2");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote(""), "''");
});

Deno.test("startLines writes the time, starting up, and the command with its environment", () => {
  assert.equal(
    startLines(new Date(0), { TZ: "Europe/Paris" }, ["qemu", "-append", "quiet console=ttyS0"]),
    "1970-01-01T00:00:00.000Z starting up\nTZ=Europe/Paris qemu -append 'quiet console=ttyS0'\n",
  );
});

Deno.test("appendQemuLog appends with mode 0600 and rotates a full log", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/vm.log`;
    appendQemuLog(path, "one\n");
    appendQemuLog(path, new TextEncoder().encode("two\n"));
    assert.equal(Deno.readTextFileSync(path), "one\ntwo\n");
    assert.equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o600);
    Deno.writeFileSync(path, new Uint8Array(QEMU_LOG_MAX_BYTES));
    appendQemuLog(path, "three\n");
    assert.equal(Deno.readTextFileSync(path), "three\n");
    assert.equal(Deno.statSync(`${path}.1`).size, QEMU_LOG_MAX_BYTES);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("logFileStem escapes everything but a safe set, so a name cannot leave the folder", () => {
  assert.equal(logFileStem("web-1_a.b+c"), "web-1_a.b+c");
  assert.equal(logFileStem("../x y"), "..%2fx%20y");
  assert.equal(logFileStem("é☺"), "%e9%263a");
});

Deno.test("logFileNameFits holds every name whose escaped log names fit in 255 bytes", () => {
  assert.ok(logFileNameFits("y".repeat(247))); // 247 + ".qmp.log" = 255
  assert.ok(!logFileNameFits("y".repeat(248)));
  assert.ok(logFileNameFits("é".repeat(82))); // 246 escaped
  assert.ok(!logFileNameFits("é".repeat(83)));
});
