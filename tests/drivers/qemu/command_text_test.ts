import assert from "node:assert/strict";
import { commandLineText, shellWord } from "../../../drivers/qemu/command_text.ts";

Deno.test("command text: plain words stay bare, others are single-quoted for a shell", () => {
  assert.equal(shellWord("guest=vm,debug-threads=on"), "guest=vm,debug-threads=on");
  assert.equal(shellWord('{"driver":"virtio"}'), `'{"driver":"virtio"}'`);
  assert.equal(shellWord("it's"), "'it'\\''s'");
  assert.equal(shellWord(""), "''");
});

Deno.test("command text: environment, binary and arguments on one line", () => {
  assert.equal(
    commandLineText({ emulator: "/usr/bin/qemu", args: ["-name", "a b"], env: { TZ: "UTC" } }),
    "TZ=UTC /usr/bin/qemu -name 'a b'\n",
  );
});
