import assert from "node:assert/strict";
import { readVmx, vmxTextFromBytes } from "../../../drivers/vmware/vmx_text.ts";
import { vmxToDomain } from "../../../drivers/vmware/vmx_to_domain.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

Deno.test("vmx names are looked up without regard to case and the first entry wins", () => {
  const vmx = readVmx('#!/usr/bin/vmware\nDisplayName = "one"\ndisplayname = "two"\n');
  assert.equal(vmx.get("displayName"), "one");
  assert.deepEqual(vmx.names, ["DisplayName", "displayname"]);
});

Deno.test("vmx values may be single-quoted, followed by a comment or a semicolon", () => {
  const vmx = readVmx('a.b:c-d = \'x y\' # note\ne = ""; f = "z"');
  assert.equal(vmx.get("a.b:c-d"), "x y");
  assert.equal(vmx.get("e"), "");
  assert.equal(vmx.get("f"), "z");
});

Deno.test("vmx refuses unquoted numbers, lists and unterminated strings with the line", () => {
  for (
    const [text, line] of [['a = "1"\nb = 2\n', 2], ['a = ["x"]', 1], ['a = "x\n', 1]] as const
  ) {
    assert.throws(() => readVmx(text), (error: unknown) => {
      assert.ok(error instanceof VirtError);
      assert.equal(error.code, ErrorCode.CONF_SYNTAX);
      assert.equal(error.where, `line ${line}`);
      return true;
    });
  }
});

Deno.test("a .vmx file in windows-1252 is read by its declared encoding", () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode('.encoding = "windows-1252"\nconfig.version = "8"\n'),
    ...new TextEncoder().encode('virtualHW.version = "4"\nannotation = "'),
    0x80,
    0xd6,
    ...new TextEncoder().encode('"\n'),
  ]);
  const def = vmxToDomain(vmxTextFromBytes(bytes));
  assert.equal(def.description, "€Ö");
});
