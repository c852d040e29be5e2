import assert from "node:assert/strict";
import { commandLineText } from "../../../drivers/qemu/command_text.ts";

Deno.test("qemu command text: environment, binary and arguments on one line, quoted as libvirt", () => {
  assert.equal(
    commandLineText({
      emulator: "/usr/bin/qemu",
      args: ["-name", "a b", "-object", '{"id":"x"}'],
      env: { TZ: "UTC" },
    }),
    `TZ=UTC /usr/bin/qemu -name 'a b' -object '{"id":"x"}'\n`,
  );
});
