import assert from "node:assert/strict";
import { escapeQemuValue, qemuOption } from "../../../drivers/qemu/qemu_option.ts";

Deno.test("escapeQemuValue doubles every comma", () => {
  assert.equal(escapeQemuValue("a,b,,c"), "a,,b,,,,c");
});

Deno.test("qemuOption writes the head, then defined parts, booleans as on and off", () => {
  assert.equal(
    qemuOption("file", { id: "x", append: false, skip: undefined, n: 3 }),
    "file,id=x,append=off,n=3",
  );
  assert.equal(qemuOption(undefined, { path: "/a,b" }), "path=/a,,b");
  assert.equal(qemuOption("a,b", {}), "a,,b");
});
