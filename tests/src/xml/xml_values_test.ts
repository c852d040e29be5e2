import assert from "node:assert/strict";
import { readValue, writeValue } from "../../../src/xml/xml_values.ts";
import { VirtError } from "../../../src/model/errors.ts";

const read = (kind: Parameters<typeof readValue>[0], text: string, unit?: string) =>
  readValue(kind, text, unit, "value", "/domain");

Deno.test("readValue reads integers with the whitespace and sign XML allows", () => {
  assert.equal(read("uint", " +42 "), 42);
  assert.equal(read("int", "-7"), -7);
  assert.ok(Object.is(read("int", "-0"), 0));
});

Deno.test("readValue reads PCI parts as C does: hex, octal or decimal", () => {
  assert.equal(read("hex2", "0x1f"), 31);
  assert.equal(read("hex2", "010"), 8);
  assert.equal(read("hex2", "18"), 18);
  assert.equal(read("hex4", "0"), 0);
  assert.equal(read("cuint", "0x10"), 16);
});

Deno.test("readValue scales sizes to KiB", () => {
  assert.equal(read("sizeKiB", "2", "GiB"), 2097152);
  assert.equal(read("sizeKiB", "2048"), 2048);
});

Deno.test("readValue refuses malformed and oversized values with code 27 and where", () => {
  for (
    const [kind, text, unit] of [
      ["uint", "-1"],
      ["uint", "1.5"],
      ["int", ""],
      ["hex1", "0xg"],
      [
        "uint",
        "99999999999999999999",
      ],
      ["sizeKiB", "1", "parsec"],
      ["sizeKiB", "18446744073709551615", "EiB"],
    ] as const
  ) {
    assert.throws(() => read(kind, text, unit), (error: unknown) => {
      assert.ok(error instanceof VirtError);
      assert.equal(error.code, 27);
      assert.equal(error.where, "/domain");
      return true;
    }, `${kind} '${text}'`);
  }
});

Deno.test("writeValue writes PCI parts in libvirt's hex widths", () => {
  assert.deepStrictEqual(
    [writeValue("hex4", 0), writeValue("hex2", 5), writeValue("hex1", 7), writeValue("uint", 3)],
    ["0x0000", "0x05", "0x7", "3"],
  );
});
